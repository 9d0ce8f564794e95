import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecutionEvent, type ExecutionRecord, ExecutionRecordSchema, NotebookResultSchema, RunPythonResponseSchema } from "../../shared/src/index.ts";
import { Threadbox } from "../../client/src/index.ts";
import { code, markdown, notebookOf, validateNotebook } from "../runtime/notebook-format.ts";
import { type ErrorJson, SSE, checkTerminal, createThread, dataOf, expectJson, liveEvents, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// run_jupyter through the public API: a notebook file of the thread's workspace run through the worker, its outputs
// streamed, recorded in the history, and written back into the file (read back through the file API, valid nbformat).

let stack: Stack;
let tmp: string;
beforeAll(async () => {
  stack = await startStack();
  tmp = await mkdtemp(path.join(os.tmpdir(), "threadbox-nb-"));
});
afterAll(async () => {
  await stack?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const NOTEBOOK = notebookOf([
  markdown("# Squares"),
  code("squares = [n * n for n in range(5)]\nprint('computed', len(squares))"),
  code("import matplotlib.pyplot as plt\nplt.plot(squares);"),
  code("sum(squares)"),
]);

describe("run_jupyter through the worker", () => {
  it("runs a workspace notebook, streams its output, records it and writes the outputs back", async () => {
    const thread = await createThread(stack, uniqueId("nb"));
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/analysis/squares.ipynb`, { raw: JSON.stringify(NOTEBOOK) }), 201);

    const res = await stack.api("POST", `/v1/threads/${thread}/run_jupyter`, { body: { notebook: "analysis/squares.ipynb" }, accept: SSE });
    expect(res.status).toBe(200);
    const events: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(res)) events.push(event);
    expect(events[0]).toMatchObject({ type: "start", kind: "run_jupyter" });
    expect(dataOf(events, "stdout")).toBe("computed 5\n");
    expect(events.some((e) => e.type === "display" && e.mime === "image/png")).toBe(true);
    const terminal = checkTerminal(events);
    if (terminal.type !== "result" || terminal.result.kind !== "notebook") throw new Error(JSON.stringify(terminal));
    const r = NotebookResultSchema.parse(terminal.result.value);
    expect(r).toMatchObject({ ok: true, written: true, path: "analysis/squares.ipynb", not_run: 0 });
    expect(r.cells.map((c) => c.index)).toEqual([1, 2, 3]);
    expect(r.cells[2]?.outputs).toEqual([{ output_type: "execute_result", execution_count: 3, data: { "text/plain": "30" }, metadata: {} }]);

    const file = await stack.api("GET", `/v1/threads/${thread}/files/analysis/squares.ipynb`);
    expect(file.status).toBe(200);
    const local = path.join(tmp, `${thread}.ipynb`);
    await writeFile(local, Buffer.from(await file.arrayBuffer()));
    validateNotebook(local);

    const list = await expectJson<{ executions: ExecutionRecord[] }>(stack.api("GET", `/v1/threads/${thread}/executions`), 200);
    const record = list.executions.map((e) => ExecutionRecordSchema.parse(e)).find((e) => e.kind === "run_jupyter");
    expect(record).toMatchObject({ status: "succeeded", summary: "notebook: analysis/squares.ipynb" });
  });

  it("answers an inline notebook through the SDK; a failing cell stops it", async () => {
    const tb = new Threadbox({ baseUrl: stack.worker.url, apiKey: stack.tenants.a.key });
    const thread = tb.thread(uniqueId("nb-sdk"));
    const r = await thread.runJupyter(notebookOf([code("a = 6"), code("a * 7"), code("raise ValueError('bad')"), code("print('no')")]));
    expect(r.ok).toBe(false);
    expect(r.cells.map((c) => c.ok)).toEqual([true, true, false]);
    expect(r.not_run).toBe(1);
    expect(r.cells[2]?.error).toMatchObject({ type: "ValueError", value: "bad" });
    const nb = r.notebook as { cells: { outputs: { output_type: string }[] }[] };
    expect(nb.cells[2]?.outputs.map((o) => o.output_type)).toEqual(["error"]);
  });

  it("runs run_python with notebook_format: a figure without savefig and the last value in displays", async () => {
    const thread = await createThread(stack, uniqueId("nb-fmt"));
    const r = RunPythonResponseSchema.parse(
      await expectJson(
        stack.api("POST", `/v1/threads/${thread}/run_python`, {
          body: { code: "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nsum([1, 4, 9])", options: { notebook_format: true } },
        }),
        200,
      ),
    );
    expect(r).toMatchObject({ text: "14", is_error: false });
    expect(r.displays?.map((d) => [d.source, d.mime])).toEqual([
      ["figure", "image/png"],
      ["value", "text/plain"],
    ]);
  });

  it("refuses a notebook that is not nbformat 4, and a missing file, with their codes", async () => {
    const thread = await createThread(stack, uniqueId("nb-bad"));
    const bad = await expectJson<ErrorJson>(stack.api("POST", `/v1/threads/${thread}/run_jupyter`, { body: { notebook: { nbformat: 3, cells: [] } } }), 400);
    expect(bad.error.code).toBe("INVALID_NOTEBOOK");
    const missing = await expectJson<ErrorJson>(stack.api("POST", `/v1/threads/${thread}/run_jupyter`, { body: { notebook: "nope.ipynb" } }), 404);
    expect(missing.error.code).toBe("FILE_NOT_FOUND");
  });
});
