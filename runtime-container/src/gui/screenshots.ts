import { readFileSync } from "node:fs";
import path from "node:path";
import type { EventBody } from "../../../shared/src/index.ts";
import { deleteWorkspacePath, listWorkspaceDir, readWorkspaceFile, writeWorkspaceFile } from "../files/file-ops.ts";
import type { Owner } from "../files/safe-open.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { type CapturePlan, type CaptureTarget, cropGeometry, screenSize, windowMissing } from "./capture-plan.ts";
import { type DisplayManager, GUEST_XAUTHORITY } from "./displays.ts";
import { startFrames } from "./frames.ts";

const HOOK = readFileSync(new URL("./sitecustomize.py", import.meta.url), "utf8");
const POLL_MS = 250;
const MAX_SHOT_BYTES = 32 * 2 ** 20;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Relative to the thread's private /tmp (local disk, writable by the sandbox, never on the bucket). */
const HOOK_DIR = ".threadbox-x11/python";
const SHOTS_DIR = ".threadbox-x11/shots";

export interface ScreenshotSession {
  /** Variables for every process of the run: the display, its cookie, the hooks, where PNGs go. */
  env: Record<string, string>;
  /** Streams what is left to stream (with hooks and nothing captured: one picture of the display as it is now). */
  finish(): Promise<void>;
}

export interface ScreenshotDeps {
  displays: DisplayManager;
  /** The virtual screen, `WIDTHxHEIGHTxDEPTH` (the hooks clip a window to it). */
  screen: string;
  /** Where the thread's private /tmp appears inside its sandbox ("/tmp" when the backend re-roots). */
  guestTmp: (loc: WorkspaceLocation) => string;
  owner: (loc: WorkspaceLocation) => Owner;
  /** Sets up (or verifies) the thread's directories: a session starts before the run's work, on a new thread too. */
  ready: (loc: WorkspaceLocation) => Promise<void>;
}

type Emit = (body: EventBody) => void;
const shotEvent = (png: Buffer): EventBody => ({ type: "display", mime: "image/png", data: png.toString("base64"), source: "screenshot" });
const noteEvent = (text: string): EventBody => ({ type: "display", mime: "text/plain", data: text, source: "screenshot" });

/** The variables that tell the hooks what to take (a region already clipped, a window by title). */
function targetEnv(target: CaptureTarget, screen: string): Record<string, string> {
  if (target.kind === "region") return { THREADBOX_SCREENSHOT_REGION: cropGeometry(target.rect) };
  const { width, height } = screenSize(screen);
  if (target.kind === "window") return { THREADBOX_SCREENSHOT_WINDOW: target.title, THREADBOX_SCREEN: `${width}x${height}` };
  return {};
}

/**
 * `capture_screenshot` (screenshots taken during a run): the run gets the thread's display and hooks that take PNGs while its
 * windows are up; the PNGs land in the thread's private /tmp, are read back without following links (the sandbox
 * owns that directory), checked to be PNGs, and streamed as `display` events with `source: "screenshot"`. In frames
 * mode the runtime takes the pictures itself (frames.ts) and the hooks only keep windows and show() well-behaved.
 */
export async function startScreenshots(
  deps: ScreenshotDeps,
  loc: WorkspaceLocation,
  executionId: string,
  emit: Emit,
  plan: CapturePlan,
): Promise<ScreenshotSession> {
  await deps.ready(loc);
  const display = await deps.displays.acquire(loc);
  const tmp = loc.privateTmp.tmp;
  await writeWorkspaceFile(tmp, `${HOOK_DIR}/sitecustomize.py`, Buffer.from(HOOK), { owner: deps.owner(loc) });
  const guestTmp = deps.guestTmp(loc);
  const common = {
    DISPLAY: `:${display.number}`,
    XAUTHORITY: path.posix.join(guestTmp, GUEST_XAUTHORITY),
    PYTHONPATH: path.posix.join(guestTmp, HOOK_DIR),
    // A running interpreter (a context) loads the hooks from here instead.
    THREADBOX_GUI_HOOK: path.posix.join(guestTmp, HOOK_DIR, "sitecustomize.py"),
    // Real windows on the virtual display; the hooks make show() return once the figure is on screen.
    MPLBACKEND: "TkAgg",
  };
  if (plan.mode === "frames") {
    const frames = startFrames((target) => deps.displays.capture(loc, target), plan, emit);
    return { env: { ...common, THREADBOX_GUI_PATCH: "1" }, finish: frames.stop };
  }

  const shots = `${SHOTS_DIR}/${executionId}`;
  let emitted = 0;
  const missing = new Set<string>();
  let collecting = Promise.resolve();

  const collect = () => {
    collecting = collecting.then(async () => {
      const names = await listWorkspaceDir(tmp, shots).then(
        (l) => l.entries.filter((e) => e.type === "file" && /\.(png|txt)$/.test(e.path)).map((e) => e.path),
        () => [],
      );
      for (const name of names) {
        const file = await readWorkspaceFile(tmp, name, MAX_SHOT_BYTES).then((f) => f.data, () => null);
        await deleteWorkspacePath(tmp, name).catch(() => undefined);
        if (file && name.endsWith(".txt")) {
          // The hook found no such window: said once in the result, after the run (another picture may yet come).
          if (plan.target.kind === "window") missing.add(windowMissing(plan.target.title));
        } else if (file && file.subarray(0, 8).equals(PNG_SIGNATURE)) {
          emit(shotEvent(file));
          emitted += 1;
        }
      }
    });
    return collecting;
  };
  const timer = setInterval(() => void collect(), POLL_MS);

  return {
    env: { ...common, THREADBOX_SCREENSHOTS: path.posix.join(guestTmp, shots), ...targetEnv(plan.target, deps.screen) },
    async finish() {
      clearInterval(timer);
      await collect();
      if (emitted === 0) {
        const shot = await deps.displays.capture(loc, plan.target);
        if (shot && "png" in shot) emit(shotEvent(shot.png));
        else if (shot) missing.add(shot.missing);
        for (const note of missing) emit(noteEvent(note));
      }
      await deleteWorkspacePath(tmp, shots).catch(() => undefined);
    },
  };
}

/**
 * Runs `work` with a screenshot session when the call asked for one (`env` is then the session's variables, else
 * empty); the captured PNGs are streamed before the run's terminal event.
 */
export async function withScreenshots<T>(
  deps: ScreenshotDeps,
  loc: WorkspaceLocation,
  ctx: { executionId: string; emit: Emit },
  plan: CapturePlan | null,
  work: (env: Record<string, string>) => Promise<T>,
): Promise<T> {
  if (!plan) return work({});
  const session = await startScreenshots(deps, loc, ctx.executionId, ctx.emit, plan);
  try {
    return await work(session.env);
  } finally {
    await session.finish();
  }
}

/**
 * A runner that adds `env` to every run (the caller's own variables still win; PYTHONPATH is joined, the caller's
 * first: run_python's import-policy hook must be the first sitecustomize found, and it loads this one next).
 */
export function withEnv(run: GuestRunner, env: Record<string, string>): GuestRunner {
  if (Object.keys(env).length === 0) return run;
  return (loc, r) => {
    const user = r.env ?? {};
    const pythonPath = [user.PYTHONPATH, env.PYTHONPATH].filter(Boolean).join(":");
    return run(loc, { ...r, env: { ...env, ...user, ...(pythonPath ? { PYTHONPATH: pythonPath } : {}) } });
  };
}
