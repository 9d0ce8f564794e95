import { type ThreadApi, post } from "../clients.ts";
import type { BenchEnv } from "../environment.ts";
import { type HostCommand, layersOf, withBackendBinary } from "../command-layers.ts";
import { spawnOnce } from "../host-spawn.ts";
import { sampleEach } from "../measure.ts";
import type { Row } from "../report.ts";
import { type Scenario, row } from "../scenario.ts";
import { delta, percentile } from "../stats.ts";

/**
 * 1. Warm exec overhead: `exec {command: "true"}` on an existing thread through the runtime API and the worker,
 * against the exact host command line the runtime spawns for it (captured, then replayed directly), each layer of
 * that command line on its own, and plain `bash -c true`; plus the HTTP floor of each API (`/health`). All variants are
 * sampled round-robin, so load from other work on the host falls on each alike.
 */
export const warmExec: Scenario = {
  id: 1,
  title: "warm exec overhead",
  async run({ env, options, loop, log }) {
    const rows: Row[] = [];
    const bash: HostCommand = { file: "bash", args: ["-c", "true"], cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } };
    for (const backend of env.backends) {
      const api = env.runtimeApi(backend);
      const thread = env.newThreadId(`exec-${backend}`);
      // The proot runtime is the worker's: create there through the worker so both ways reach the same thread.
      await (backend === "proot" ? env.worker : api).createThread(thread);
      const layers = layersOf(await env.captureExec(backend, thread));
      // What the runtime itself reports as the run's duration (spawn to exit, in runProcess): splits its overhead
      // into the HTTP/routing part and the process-handling part.
      const runDurations: number[] = [];
      const exec = (via: ThreadApi, record?: number[]) => async () => {
        const out = await post<{ duration_ms: number }>(via, thread, "/exec", { command: "true" });
        record?.push(out.duration_ms);
      };
      // [id, label, run], innermost first, so each row can say what its layer adds over the one before.
      const variants: [string, string, () => Promise<void>][] = [
        [`exec.host-bash.${backend}`, `${backend}: plain bash -c true (host)`, () => spawnOnce(bash)],
        ...layers.map((l, i): [string, string, () => Promise<void>] => [
          i === layers.length - 1 ? `exec.bare.${backend}` : `exec.layer.${backend}.${i}`,
          `${backend}: ${l.label}`,
          () => spawnOnce(l.cmd),
        ]),
        [`exec.runtime.${backend}`, `${backend}: exec "true" via the runtime API`, exec(api, runDurations)],
      ];
      // Which row each row's "adds" is taken over: the one before it, unless named here.
      const added = new Map<string, string>();
      if (backend === "proot") variants.push([`exec.worker.${backend}`, `${backend}: exec "true" via the worker`, exec(env.worker)]);
      // Another proot build (BENCH_PROOT_ALT), same command lines: after the rows above, so their "adds" stay as before.
      const alt = backend === "proot" ? options.prootAlt : undefined;
      if (alt) {
        const alone = layers[0]?.cmd;
        const exact = layers.at(-1)?.cmd;
        if (alone) variants.push(["exec.layer.proot-alt.0", `proot alt (${alt}) alone`, () => spawnOnce(withBackendBinary(alone, "proot", alt))]);
        if (exact) variants.push(["exec.bare.proot-alt", "proot alt: the exact command, bare", () => spawnOnce(withBackendBinary(exact, "proot", alt))]);
        added.set("exec.layer.proot-alt.0", `exec.host-bash.${backend}`);
      }
      const floors = backend === "proot" ? healthFloors(env) : [];
      log(`  ${backend}: ${variants.length + floors.length} variants, round-robin`);
      const all = [...variants, ...floors];
      const samples = await sampleEach(loop(200, 10), Object.fromEntries(all.map(([id, , run]) => [id, run])));
      const p50 = (id: string | undefined) => percentile(samples[id ?? ""] ?? [], 50);
      variants.forEach(([id, label], i) => {
        const previous = added.get(id) ?? variants[i - 1]?.[0];
        const extra: Row["extra"] = previous ? { adds_p50_ms: delta(p50(id), p50(previous)) } : {};
        if (id === `exec.runtime.${backend}`) extra.run_duration_p50_ms = percentile(runDurations.slice(-(samples[id]?.length ?? 0)), 50);
        rows.push(row(1, id, label, samples[id] ?? [], extra));
      });
      for (const [id, label] of floors) rows.push(row(1, id, label, samples[id] ?? []));
    }
    return rows;
  },
};

/**
 * The transport floor: `/health` on the runtime, and through the worker (which answers from its view of the runtimes,
 * refreshed every couple of seconds: a rate-limit round trip and no runtime call, most of the time).
 */
export function healthFloors(env: BenchEnv): [string, string, () => Promise<void>][] {
  const check = async (res: Promise<Response>) => {
    const r = await res;
    await r.text();
    if (r.status !== 200) throw new Error(`health answered ${r.status}`);
  };
  return [
    ["floor.runtime-health", "floor: GET /health on the runtime", () => check(env.runtime("proot").call("GET", "/health"))],
    ["floor.worker-health", "floor: GET /v1/health via the worker (cached view)", () => check(env.stack.api("GET", "/v1/health"))],
  ];
}
