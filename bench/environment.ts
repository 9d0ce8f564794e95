import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Stack, startStack } from "../test/e2e/stack.ts";
import { type RuntimeProcess, startRuntime } from "../test/runtime/harness.ts";
import { type PackageIndex, startPackageIndex } from "../test/runtime/package-index.ts";
import { type ThreadApi, runtimeApi, workerApi } from "./clients.ts";
import { CAPTURE_MARKER, type HostCommand, captureExec } from "./host-spawn.ts";

export type Backend = "proot" | "bwrap";

/** The runtime's base interpreter (its PYTHON_BIN default), used for every host-side Python baseline. */
export const PYTHON_BIN = "/usr/bin/python3";

/**
 * The local stack the benchmark drives, started by the harness itself: a loopback package index, the worker in
 * workerd (`wrangler dev`) in front of a proot runtime, and one more runtime per other isolation backend. Threads
 * created along the way are kept in a pool, so scenarios that need many existing threads reuse them.
 */
export interface BenchEnv {
  stack: Stack;
  index: PackageIndex;
  /** The backends that started here (bwrap is skipped, with a log line, where the host does not allow it). */
  backends: Backend[];
  /**
   * Wheels on the index, one per install iteration (each must be a first install for the tenant's cache), in one set
   * per way in: `worker` (the worker, proot runtime) and one per backend (that runtime's API). The sets are disjoint, so
   * the index's download count tells each install apart.
   */
  wheels: Record<"worker" | Backend, string[]>;
  runtime(backend: Backend): RuntimeProcess;
  /** The runtime's own API; threads there belong to the same tenant as the worker's, so ids can be shared. */
  runtimeApi(backend: Backend): ThreadApi;
  /** The exact host command line that backend's runtime spawns for `exec true` on the thread (see host-spawn.ts). */
  captureExec(backend: Backend, thread: string): Promise<HostCommand>;
  worker: ThreadApi;
  /** A new thread through the worker (set up on the proot runtime), timed by the caller if it wishes. */
  newThreadId(label: string): string;
  /** Existing threads: the pool first, then new ones created `parallel` at a time. */
  threads(count: number, parallel?: number): Promise<string[]>;
  /** Hands threads created elsewhere (scenario 2) to the pool. */
  adopt(ids: string[]): void;
  stop(): Promise<void>;
}

export async function startEnvironment(
  backends: readonly Backend[],
  wheelCount: number,
  log: (msg: string) => void,
  prootBin?: string,
): Promise<BenchEnv> {
  const set = (prefix: string) => Array.from({ length: wheelCount }, (_, i) => `${prefix}-${i}`);
  const wheels = { worker: set("tbx-bench"), proot: set("tbx-bench-proot"), bwrap: set("tbx-bench-bwrap") };
  const index = await startPackageIndex(Object.values(wheels).flat().map((name) => ({ name, version: "1.0.0" })));
  const captures = await mkdtemp(path.join(os.tmpdir(), "threadbox-bench-"));
  const capture = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), "spawn-capture.mjs"));
  const env = (b: Backend) => ({
    PIP_INDEX_URL: index.url,
    ISOLATION: b,
    NODE_OPTIONS: `--import=${capture.href}`,
    BENCH_SPAWN_LOG: path.join(captures, `${b}.jsonl`),
    BENCH_SPAWN_MARKER: CAPTURE_MARKER,
    // Another proot build for the proot runtime itself (BENCH_RUNTIME_PROOT); the runtime's self-test vets it.
    ...(prootBin && b === "proot" ? { PROOT_BIN: prootBin } : {}),
  });
  log("starting the stack: proot runtime + wrangler dev");
  // The health floor asks /v1/health hundreds of times: lift its per-address limit (all bench requests are local).
  const openLimit = { OPEN_RATE_LIMIT_PER_MINUTE: "1000000", OPEN_RATE_LIMIT_BURST: "1000000" };
  const stack = await startStack({ runtime: env("proot"), worker: openLimit }).catch(async (err: unknown) => {
    await index.stop();
    await rm(captures, { recursive: true, force: true });
    throw err;
  });
  const runtimes = new Map<Backend, RuntimeProcess>([["proot", stack.runtime]]);
  for (const b of backends.filter((x) => x !== "proot")) {
    log(`starting a ${b} runtime`);
    await startRuntime(env(b)).then(
      (rt) => void runtimes.set(b, rt),
      (err: Error) => log(`${b} unavailable here, skipped: ${err.message.split("\n").slice(0, 3).join(" ")}`),
    );
  }
  const tenant = stack.tenants.a.name;
  const worker = workerApi(stack);
  const pool: string[] = [];
  const runtime = (b: Backend) => {
    const rt = runtimes.get(b);
    if (!rt) throw new Error(`no ${b} runtime in this run (BENCH_BACKENDS)`);
    return rt;
  };
  return {
    stack,
    index,
    backends: backends.filter((b) => runtimes.has(b)),
    wheels,
    runtime,
    runtimeApi: (b) => runtimeApi(runtime(b), tenant, `runtime (${b})`),
    captureExec: (b, thread) => captureExec(runtimeApi(runtime(b), tenant), thread, env(b).BENCH_SPAWN_LOG),
    worker,
    newThreadId: (label) => `bench-${label}-${randomUUID().slice(0, 8)}`,
    async threads(count, parallel = 4) {
      while (pool.length < count) {
        const batch = Array.from({ length: Math.min(parallel, count - pool.length) }, () => `bench-pool-${randomUUID().slice(0, 8)}`);
        await Promise.all(batch.map((id) => worker.createThread(id)));
        pool.push(...batch);
      }
      return pool.slice(0, count);
    },
    adopt: (ids) => void pool.push(...ids),
    async stop() {
      for (const [b, rt] of runtimes) if (b !== "proot") await rt.stop();
      await stack.stop();
      await index.stop();
      await rm(captures, { recursive: true, force: true });
    },
  };
}
