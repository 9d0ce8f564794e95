import { type ThreadApi, post } from "../clients.ts";
import type { BenchEnv } from "../environment.ts";
import { timed } from "../measure.ts";
import type { Row } from "../report.ts";
import { type Scenario, row } from "../scenario.ts";

/**
 * 7. Package install: a wheel from the loopback index installed into one thread (the tenant's first: downloaded,
 * built into the cache), then the same wheel into a second thread of the tenant (the shared cache's hit; issue 18's
 * "install from cache"). Each iteration uses its own wheel, so every "first" really is a first. Through the worker
 * (the proot runtime), then through each backend's runtime API, so pip under proot and under bwrap compare directly.
 */
async function firstAndSecond(env: BenchEnv, api: ThreadApi, threads: string[], wheels: string[], budgetMs: number, log: (m: string) => void) {
  const first: number[] = [];
  const second: number[] = [];
  const deadline = performance.now() + budgetMs;
  for (const [i, wheel] of wheels.entries()) {
    if (i > 0 && performance.now() > deadline) break;
    const install = (thread: string) => timed(async () => void (await post(api, thread, "/packages", { packages: [wheel] })));
    first.push(await install(threads[2 * i] as string));
    second.push(await install(threads[2 * i + 1] as string));
    const downloads = env.index.downloads(wheel);
    if (downloads !== 1) log(`  ${wheel} was downloaded ${downloads} times (expected once: the second install should hit the cache)`);
  }
  const downloads = wheels.slice(0, first.length).map((w) => env.index.downloads(w));
  return { first, second, downloadsPerWheel: downloads.reduce((a, b) => a + b, 0) / downloads.length };
}

export const packages: Scenario = {
  id: 7,
  title: "package install, first vs second thread",
  async run({ env, loop, log }) {
    const n = env.wheels.worker.length;
    // pip under the sandbox takes seconds per install: each way in gets up to three loop budgets.
    const budget = 3 * loop(n).maxMs;
    const viaWorker = await firstAndSecond(env, env.worker, await env.threads(2 * n), env.wheels.worker, budget, log);
    const rows: Row[] = [
      row(7, "packages.first", "install a wheel into a thread (tenant's first: download)", viaWorker.first),
      row(7, "packages.second", "the same wheel into a second thread (shared cache)", viaWorker.second, {
        downloads_per_wheel: viaWorker.downloadsPerWheel,
      }),
    ];
    for (const backend of env.backends) {
      log(`  ${backend}: via the runtime API`);
      const api = env.runtimeApi(backend);
      const threads = Array.from({ length: 2 * n }, () => env.newThreadId(`pkg-${backend}`));
      for (const t of threads) await api.createThread(t);
      const r = await firstAndSecond(env, api, threads, env.wheels[backend], budget, log);
      rows.push(
        row(7, `packages.first.${backend}`, `${backend}: a wheel into a thread via the runtime API (download)`, r.first),
        row(7, `packages.second.${backend}`, `${backend}: the same wheel into a second thread via the runtime API (cache)`, r.second, {
          downloads_per_wheel: r.downloadsPerWheel,
        }),
      );
    }
    return rows;
  },
};
