import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { post } from "../clients.ts";
import { PYTHON_BIN } from "../environment.ts";
import { withBackendBinary, withGuest } from "../command-layers.ts";
import { spawnOnce } from "../host-spawn.ts";
import { sample, sampleEach, timed } from "../measure.ts";
import type { Row } from "../report.ts";
import { type Scenario, row } from "../scenario.ts";
import { percentile } from "../stats.ts";
import { newContext } from "./stateful-cell.ts";

/**
 * 4. Import-heavy code: `import pandas, matplotlib.pyplot` as a one-shot run_python per isolation backend, against
 * bare python3 on the host and the same interpreter under the exact sandbox command line with nothing around it;
 * then in contexts: the first import in a fresh context, and the same cell again in a warm one.
 */
const IMPORT = "import pandas, matplotlib.pyplot";

export const imports: Scenario = {
  id: 4,
  title: "import-heavy code",
  async run({ env, options, loop, log }) {
    const rows: Row[] = [];
    // The guest's Python settings, on the host (a private matplotlib config dir, warmed by the warm-up run).
    const mplDir = await mkdtemp(path.join(os.tmpdir(), "threadbox-bench-mpl-"));
    const hostEnv = { PATH: "/usr/bin:/bin", HOME: mplDir, MPLBACKEND: "Agg", MPLCONFIGDIR: mplDir, PYTHONDONTWRITEBYTECODE: "1" };
    const bare = () => spawnOnce({ file: PYTHON_BIN, args: ["-c", IMPORT], cwd: mplDir, env: hostEnv });
    try {
      for (const backend of env.backends) {
        const api = env.runtimeApi(backend);
        const thread = env.newThreadId(`import-${backend}`);
        await api.createThread(thread);
        const sandboxed = withGuest(await env.captureExec(backend, thread), ["/.venv/bin/python", "-c", IMPORT]);
        log(`  ${backend}: one-shot, round-robin with the baselines`);
        // Another proot build (BENCH_PROOT_ALT) runs the same sandboxed command in the same rounds.
        const alt = backend === "proot" ? options.prootAlt : undefined;
        const variants: Record<string, () => Promise<void>> = {
          bare,
          sandboxed: () => spawnOnce(sandboxed),
          runPython: async () => void (await post(api, thread, "/run_python", { code: IMPORT })),
        };
        if (alt) variants.alt = () => spawnOnce(withBackendBinary(sandboxed, "proot", alt));
        // Each round is 3–4 imports of 1–4 s: this loop gets three loop budgets, or a loaded host leaves 3 samples.
        const oneShot = loop(10, 2);
        const { bare: host = [], sandboxed: inSandbox = [], runPython = [], alt: altSamples } = await sampleEach(
          { ...oneShot, maxMs: 3 * oneShot.maxMs },
          variants,
        );
        const vsHost = (samples: number[]) => ({ vs_host: percentile(samples, 50) / percentile(host, 50) });
        rows.push(
          row(4, `import.bare.${backend}`, `${backend} round: bare python3 on the host`, host),
          row(4, `import.bare-sandbox.${backend}`, `${backend}: same python, exact sandbox command line, spawned directly`, inSandbox, vsHost(inSandbox)),
          row(4, `import.run-python.${backend}`, `${backend}: one-shot run_python via the runtime API`, runPython, vsHost(runPython)),
        );
        if (altSamples) {
          rows.push(row(4, "import.bare-sandbox.proot-alt", `proot alt (${alt}): same python, exact sandbox command`, altSamples, vsHost(altSamples)));
        }

        log(`  ${backend}: contexts`);
        const creates: number[] = [];
        const first = await sample(loop(5, 0), async () => {
          const ctx = await newContext(api, thread);
          creates.push(ctx.createMs);
          const ms = await timed(async () => void (await post(api, thread, `/contexts/${ctx.id}/run`, { code: IMPORT })));
          await api.request("DELETE", thread, `/contexts/${ctx.id}`).then((r) => r.text());
          return ms;
        });
        const warm = await newContext(api, thread);
        await post(api, thread, `/contexts/${warm.id}/run`, { code: IMPORT });
        const again = await sample(loop(50, 3), async () => void (await post(api, thread, `/contexts/${warm.id}/run`, { code: IMPORT })));
        await api.request("DELETE", thread, `/contexts/${warm.id}`).then((r) => r.text());
        rows.push(
          row(4, `import.context-first.${backend}`, `${backend}: first import in a fresh context (cell only)`, first, {
            context_create_p50_ms: percentile(creates, 50),
          }),
          row(4, `import.context-warm.${backend}`, `${backend}: the same cell in a warm context`, again),
        );
      }
    } finally {
      await rm(mplDir, { recursive: true, force: true });
    }
    return rows;
  },
};
