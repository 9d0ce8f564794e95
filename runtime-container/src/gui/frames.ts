import type { EventBody } from "../../../shared/src/index.ts";
import type { CapturePlan, CaptureTarget } from "./capture-plan.ts";
import type { CaptureOutcome } from "./x-capture.ts";

type FramesPlan = Extract<CapturePlan, { mode: "frames" }>;

/**
 * `capture_screenshot: {interval_ms, max_frames}`: the runtime takes a picture of the target every `intervalMs` from
 * the run's start (the first one interval in), streams each as a `display` event with its time as soon as it is
 * taken, and stops at `maxFrames` or when the run ends (`stop`), whichever comes first. One picture at a time: a
 * slow capture skips the slots it overran rather than queueing them. A window not on the screen at a slot is no
 * frame; when it never was, the result says so once.
 */
export function startFrames(
  take: (target: CaptureTarget) => Promise<CaptureOutcome>,
  plan: FramesPlan,
  emit: (body: EventBody) => void,
): { stop: () => Promise<void> } {
  const started = Date.now();
  let stopped = false;
  let wake = () => {};
  let taken = 0;
  let missing: string | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    let slot = 1;
    while (!stopped && taken < plan.maxFrames) {
      await sleep(Math.max(0, started + slot * plan.intervalMs - Date.now()));
      if (stopped) break;
      const time_ms = Date.now() - started;
      const shot = await take(plan.target).catch(() => null);
      // Taken while the run was going: streamed even when the run ended during the capture.
      if (shot && "png" in shot) {
        taken += 1;
        emit({ type: "display", mime: "image/png", data: shot.png.toString("base64"), source: "screenshot", time_ms });
      } else if (shot) {
        missing = shot.missing;
      }
      slot = Math.max(slot + 1, Math.floor((Date.now() - started) / plan.intervalMs) + 1);
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
      if (taken === 0 && missing) emit({ type: "display", mime: "text/plain", data: missing, source: "screenshot" });
    },
  };
}
