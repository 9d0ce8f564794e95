import { post } from "../clients.ts";
import { timed } from "../measure.ts";
import { type Scenario, row } from "../scenario.ts";

/**
 * 7. Package install: a wheel from the loopback index installed into one thread (the tenant's first: downloaded,
 * built into the cache), then the same wheel into a second thread of the tenant (the shared cache's hit). Each
 * iteration uses its own wheel, so every "first" really is a first.
 */
export const packages: Scenario = {
  id: 7,
  title: "package install, first vs second thread",
  async run({ env, loop, log }) {
    const threads = await env.threads(2 * env.wheels.length);
    const first: number[] = [];
    const second: number[] = [];
    // pip under the sandbox takes seconds per install: this loop gets three loop budgets.
    const deadline = performance.now() + 3 * loop(env.wheels.length).maxMs;
    for (const [i, wheel] of env.wheels.entries()) {
      if (i > 0 && performance.now() > deadline) break;
      const install = (thread: string) => timed(async () => void (await post(env.worker, thread, "/packages", { packages: [wheel] })));
      first.push(await install(threads[2 * i] as string));
      second.push(await install(threads[2 * i + 1] as string));
      const downloads = env.index.downloads(wheel);
      if (downloads !== 1) log(`  ${wheel} was downloaded ${downloads} times (expected once: the second install should hit the cache)`);
    }
    const downloads = env.wheels.slice(0, first.length).map((w) => env.index.downloads(w));
    return [
      row(7, "packages.first", "install a wheel into a thread (tenant's first: download)", first),
      row(7, "packages.second", "the same wheel into a second thread (shared cache)", second, {
        downloads_per_wheel: downloads.reduce((a, b) => a + b, 0) / downloads.length,
      }),
    ];
  },
};
