import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunPythonResponse } from "../../shared/src/index.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

// Many threads at once on one runtime: every answer is the right one (a fast failure or an empty success would
// be a lost run). Bounded: 64 threads, three rounds, one short script each.

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

describe("concurrent threads", () => {
  it("runs a script in each of 64 threads, three rounds at once, each answering its own output", async () => {
    const threads = Array.from({ length: 64 }, (_, i) => i);
    const answers = [];
    for (let round = 0; round < 3; round++) answers.push(...(await Promise.all(
      threads.map(async (i) => {
        const r = await rt.json<RunPythonResponse>("POST", `/threads/acme/many-${i}/run_python`, { code: `print(${i} * 3)`, timeout: 120 });
        return { i, round, exit: r.metadata.exit_code, stdout: r.metadata.stdout, stderr: r.metadata.stderr };
      }),
    )));
    const wrong = answers.filter((a) => a.exit !== 0 || a.stdout !== `${a.i * 3}\n`);
    expect(wrong).toEqual([]);
  }, 300_000);
});
