import { type ThreadApi, liveEvents } from "../clients.ts";
import { now, sampleEach } from "../measure.ts";
import type { Row } from "../report.ts";
import { type Scenario, row } from "../scenario.ts";
import { percentile } from "../stats.ts";

/**
 * 5. Streaming latency: a program prints the wall-clock time, then sleeps. Time until the client holds the first
 * stdout event, minus the time the program took to reach its print (both from the request's start), is the
 * client's receive time minus the printed time: the delivery delay of a live line through every layer.
 */
const PROGRAMS = {
  run_python: { route: "/run_python", body: { code: "import time\nprint(repr(time.time()), flush=True)\ntime.sleep(0.2)\nprint('done')" } },
  exec: { route: "/exec", body: { command: "date +%s.%N; sleep 0.2; echo done" } },
} as const;

/** Date.now()'s clock (CLOCK_REALTIME, what the guest's clocks read) at performance.now() resolution. */
function epochClock(): (at: number) => number {
  const start = Date.now();
  // Wait for the millisecond to turn over, so the offset is exact to the tick rather than off by up to 1 ms.
  for (let i = 0; i < 1e7 && Date.now() === start; i++);
  const offset = Date.now() - performance.now();
  return (at) => offset + at;
}

export interface StreamSample {
  /** Client receive time of the first stdout event minus the time the program printed, ms. */
  delivery: number;
  /** Request start to the first stdout event in the client's hands, ms. */
  firstByte: number;
}

async function once(api: ThreadApi, thread: string, program: keyof typeof PROGRAMS, epoch: (at: number) => number): Promise<StreamSample> {
  const { route, body } = PROGRAMS[program];
  const t0 = now();
  let sample: StreamSample | null = null;
  let ended = false;
  for await (const { event, at } of liveEvents(await api.request("POST", thread, route, body, "sse"))) {
    if (event.type === "stdout" && sample === null) {
      const printed = Number(event.data.split("\n")[0]) * 1000;
      if (!Number.isFinite(printed)) throw new Error(`first stdout is not a timestamp: ${JSON.stringify(event.data)}`);
      sample = { delivery: epoch(at) - printed, firstByte: at - t0 };
    }
    if (event.type === "error") throw new Error(`${program} stream ended in error: ${event.code} ${event.message}`);
    ended = ended || event.type === "result";
  }
  if (!sample || !ended) throw new Error(`${program} via ${api.name}: ${sample ? "no result event" : "no stdout event"}`);
  return sample;
}

export const streaming: Scenario = {
  id: 5,
  title: "streaming latency",
  async run({ env, loop }) {
    const [thread] = await env.threads(1);
    if (!thread) throw new Error("no thread");
    const epoch = epochClock();
    const apis = { runtime: env.runtimeApi("proot"), worker: env.worker };
    const firstBytes: Record<string, number[]> = {};
    const variants: Record<string, () => Promise<number>> = {};
    for (const [via, api] of Object.entries(apis)) {
      for (const program of Object.keys(PROGRAMS) as (keyof typeof PROGRAMS)[]) {
        const key = `${program} via ${via}`;
        firstBytes[key] = [];
        variants[key] = async () => {
          const s = await once(api, thread, program, epoch);
          firstBytes[key]?.push(s.firstByte);
          return s.delivery;
        };
      }
    }
    const samples = await sampleEach(loop(20, 2), variants);
    const rows: Row[] = [];
    for (const [key, s] of Object.entries(samples)) {
      rows.push(
        row(5, `stream.${key.replace(" via ", ".")}`, `first stdout event, ${key} (SSE): print → client`, s, {
          request_to_first_stdout_p50_ms: percentile(firstBytes[key]?.slice(-s.length) ?? [], 50),
        }),
      );
    }
    return rows;
  },
};
