import { type ThreadApi, expectStatus, post } from "../clients.ts";
import { PYTHON_BIN } from "../environment.ts";
import { startJupyter } from "../jupyter.ts";
import { now, sampleEach } from "../measure.ts";
import { type Scenario, row } from "../scenario.ts";
import { healthFloors } from "./warm-exec.ts";

/**
 * 3. Stateful cell: `x = x + 1` in a Python context through the worker (and through the runtime API, to split the
 * layers), against a Jupyter kernel driven by jupyter_client on the same machine, and the worker's floor (any request
 * through it: `GET /v1/health`) in the same rounds, so the cell's cost over the floor is measured under the same load;
 * sampled round-robin.
 */
const CELL = "x = x + 1";

/** A context with `x = 0` in it; returns its id and how long creating it took. */
export async function newContext(api: ThreadApi, thread: string): Promise<{ id: string; createMs: number }> {
  const t0 = now();
  const ctx = await expectStatus<{ id: string }>(api.request("POST", thread, "/contexts", { language: "python" }), 201);
  const createMs = now() - t0;
  await post(api, thread, `/contexts/${ctx.id}/run`, { code: "x = 0" });
  return { id: ctx.id, createMs };
}

export const statefulCell: Scenario = {
  id: 3,
  title: "stateful cell vs a Jupyter kernel",
  async run({ env, loop, log }) {
    const [thread] = await env.threads(1);
    if (!thread) throw new Error("no thread");
    const worker = await newContext(env.worker, thread);
    const runtime = env.runtimeApi("proot");
    const kernel = await startJupyter(PYTHON_BIN);
    log(`  context created in ${worker.createMs.toFixed(0)} ms; jupyter kernel started in ${kernel.startMs.toFixed(0)} ms`);
    const floor = healthFloors(env).find(([id]) => id === "floor.worker-health")?.[2];
    if (!floor) throw new Error("no worker health floor");
    let cells = 0;
    try {
      await kernel.run("x = 0");
      const cell = (api: ThreadApi) => async () => {
        await post(api, thread, `/contexts/${worker.id}/run`, { code: CELL });
        cells++;
      };
      const samples = await sampleEach(loop(200, 10), {
        worker: cell(env.worker),
        runtime: cell(runtime),
        jupyter: () => kernel.run(CELL),
        floor,
      });
      // The state really is kept: x counted every cell both ways ran.
      const check = await post<{ result: { "text/plain"?: string } | null }>(env.worker, thread, `/contexts/${worker.id}/run`, { code: "x" });
      if (check.result?.["text/plain"] !== String(cells)) throw new Error(`context lost state: x = ${JSON.stringify(check.result)}, expected ${cells}`);
      return [
        row(3, "cell.worker", `cell "${CELL}" via the worker`, samples.worker, { context_create_ms: worker.createMs }),
        row(3, "cell.runtime", `cell "${CELL}" via the runtime API`, samples.runtime),
        row(3, "cell.jupyter", `cell "${CELL}" in a Jupyter kernel (jupyter_client)`, samples.jupyter, { kernel_start_ms: kernel.startMs }),
        row(3, "cell.floor.worker-health", "floor: GET /v1/health via the worker, same rounds", samples.floor),
      ];
    } finally {
      await kernel.stop();
      await env.worker.request("DELETE", thread, `/contexts/${worker.id}`).then((r) => r.text());
    }
  },
};
