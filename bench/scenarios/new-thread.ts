import { post } from "../clients.ts";
import type { BenchEnv } from "../environment.ts";
import { fanOut, now, sample } from "../measure.ts";
import type { Row } from "../report.ts";
import { type Scenario, row } from "../scenario.ts";

/**
 * 2. New thread to first result: `POST /v1/threads` then `exec {command: "echo hi"}` through the worker, timed from
 * the first request to the result; sequentially, then a burst of concurrent ones. The threads made here join the
 * pool that scenarios 6 and 7 reuse.
 */
async function firstResult(env: BenchEnv, id: string): Promise<{ create: number; exec: number }> {
  const t0 = now();
  await env.worker.createThread(id);
  const t1 = now();
  const out = await post<{ stdout: string }>(env.worker, id, "/exec", { command: "echo hi" });
  if (out.stdout !== "hi\n") throw new Error(`echo hi answered ${JSON.stringify(out.stdout)}`);
  return { create: t1 - t0, exec: now() - t1 };
}

export const newThread: Scenario = {
  id: 2,
  title: "new thread to first result",
  async run({ env, options, loop, log }) {
    const created: string[] = [];
    const parts = { create: [] as number[], exec: [] as number[] };
    const total = await sample(loop(20, 1), async (i) => {
      const id = env.newThreadId("new");
      created.push(id);
      const t = await firstResult(env, id);
      if (i < 0) return;
      parts.create.push(t.create);
      parts.exec.push(t.exec);
    });
    // The runtime's share of creating a thread (workspace, venv, verification), without the worker in front.
    const runtime = env.runtimeApi("proot");
    const direct = await sample(loop(10, 0), async () => runtime.createThread(env.newThreadId("rt-new")));
    const rows: Row[] = [
      row(2, "new-thread.sequential", "new thread → echo hi via the worker, sequential", total),
      row(2, "new-thread.sequential.create", "  of which POST /v1/threads (workspace + venv set-up)", parts.create),
      row(2, "new-thread.sequential.exec", "  of which the first exec", parts.exec),
      row(2, "new-thread.runtime-create", "  POST /threads/… on the runtime alone (workspace + venv set-up)", direct),
    ];

    log(`  burst of ${options.burst}`);
    const ids = Array.from({ length: options.burst }, () => env.newThreadId("burst"));
    const burst = await fanOut(ids.length, async (i) => {
      const id = ids[i] as string;
      await firstResult(env, id);
      return id;
    });
    for (const e of new Set(burst.errors)) log(`  burst error: ${e.slice(0, 300)}`);
    created.push(...burst.values);
    rows.push(
      row(2, "new-thread.burst", `new thread → echo hi via the worker, burst of ${ids.length}`, burst.latencies, {
        success_rate: burst.values.length / ids.length,
        wall_s: burst.wallMs / 1000,
        threads_per_s: burst.values.length / (burst.wallMs / 1000),
      }),
      // Issue 18 judges the burst by its wall time (first request sent → last result in): one sample per run.
      row(2, "new-thread.burst.wall", `  burst of ${ids.length}: wall time, first request → last result`, [burst.wallMs], {
        burst_size: ids.length,
      }),
    );
    env.adopt(created);
    return rows;
  },
};
