import { expectStatus, post } from "../clients.ts";
import { descendantsMemory, rssBytes } from "../machine.ts";
import { fanOut } from "../measure.ts";
import { type Scenario, row } from "../scenario.ts";
import { percentile } from "../stats.ts";
import { newContext } from "./stateful-cell.ts";

/**
 * 6. Concurrency: N existing threads each run a short Python script at once through the worker (success rate,
 * throughput, latency percentiles), with the runtime's RSS before and after; then the memory an idle Python
 * context costs: as the runtime reports it (its process tree's RSS), as the runtime process grows, and from /proc here:
 * the growth of the runtime's descendants (every process of the contexts' trees, wrappers and proot included) per
 * context, as RSS and as PSS.
 */
const SCRIPT = "import math\nprint(round(sum(math.sqrt(i) for i in range(100_000))))";
const EXPECTED = "21081693\n";
const MB = 2 ** 20;

export const concurrency: Scenario = {
  id: 6,
  title: "concurrency",
  async run({ env, options, log }) {
    const n = options.concurrency;
    const threads = await env.threads(n);
    const pid = env.runtime("proot").child.pid;
    const rssBefore = await rssBytes(pid);
    log(`  ${n} threads at once`);
    const burst = await fanOut(n, async (i) => {
      const out = await post<{ metadata: { stdout: string } }>(env.worker, threads[i] as string, "/run_python", { code: SCRIPT });
      if (out.metadata.stdout !== EXPECTED) throw new Error(`wrong output on ${threads[i]}: ${JSON.stringify(out).slice(0, 600)}`);
    });
    const rssAfter = await rssBytes(pid);
    for (const e of new Set(burst.errors)) log(`  error: ${e.slice(0, 300)}`);

    const k = options.quick ? 2 : 8;
    log(`  ${k} idle Python contexts`);
    const ctxThreads = threads.slice(0, k);
    const rssNoCtx = await rssBytes(pid);
    const treeNoCtx = await descendantsMemory(pid);
    const contexts = [];
    for (const t of ctxThreads) contexts.push({ thread: t, ...(await newContext(env.worker, t)) });
    const rssWithCtx = await rssBytes(pid);
    const treeWithCtx = await descendantsMemory(pid);
    const ctxRss: number[] = [];
    for (const c of contexts) {
      const info = await expectStatus<{ rss_bytes: number | null }>(env.worker.request("GET", c.thread, `/contexts/${c.id}`), 200);
      if (info.rss_bytes !== null) ctxRss.push(info.rss_bytes);
      await env.worker.request("DELETE", c.thread, `/contexts/${c.id}`).then((r) => r.text());
    }
    return [
      row(6, "concurrency.run-python", `${n} threads run_python at once via the worker`, burst.latencies, {
        success_rate: burst.values.length / n,
        throughput_per_s: burst.values.length / (burst.wallMs / 1000),
        wall_s: burst.wallMs / 1000,
        runtime_rss_before_mb: rssBefore / MB,
        runtime_rss_after_mb: rssAfter / MB,
      }),
      row(6, "concurrency.context", `idle Python context: create (ms) and memory`, contexts.map((c) => c.createMs), {
        context_rss_p50_mb: percentile(ctxRss, 50) / MB,
        runtime_rss_per_context_mb: (rssWithCtx - rssNoCtx) / k / MB,
        tree_rss_per_context_mib: (treeWithCtx.rss - treeNoCtx.rss) / k / MB,
        tree_pss_per_context_mib: (treeWithCtx.pss - treeNoCtx.pss) / k / MB,
        tree_processes_per_context: (treeWithCtx.processes - treeNoCtx.processes) / k,
      }),
    ];
  },
};
