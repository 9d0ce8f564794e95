import { execFileSync } from "node:child_process";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NotebookResult, NotebookResultSchema } from "../../shared/src/index.ts";
import { contextClient, failure, newThread } from "./context-client.ts";
import { type RuntimeProcess, readEvents, startRuntime } from "./harness.ts";
import { code, markdown, notebookOf, validateNotebook } from "./notebook-format.ts";
import { type PackageIndex, startPackageIndex } from "./package-index.ts";

// run_jupyter against the real runtime: a notebook's code cells in a real Python context in the sandbox, the
// outputs written back into the workspace file (valid for nbformat), streaming, contexts, and refused inputs.

const TENANT = "acme";
let rt: RuntimeProcess;
let index: PackageIndex;
beforeAll(async () => {
  index = await startPackageIndex([{ name: "tbx-hello", version: "1.0.0" }]);
  // A small request cap, so "over the cap" needs no big file.
  rt = await startRuntime({ MAX_BODY_BYTES: String(256 * 1024), PIP_INDEX_URL: index.url });
});
afterAll(async () => {
  await rt?.stop();
  await index?.stop();
});

const { create: createContext, value } = contextClient(() => rt);
const hostPath = (thread: string, rel = "") => path.join(rt.workspaces, TENANT, thread, rel);
const jupyter = (thread: string, body: Record<string, unknown>, accept: "json" | "sse" = "json") =>
  rt.call("POST", `/threads/${TENANT}/${thread}/run_jupyter`, { body, accept });

async function run(thread: string, body: Record<string, unknown>): Promise<NotebookResult> {
  const res = await jupyter(thread, body);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return NotebookResultSchema.parse(JSON.parse(text));
}

async function putNotebook(thread: string, rel: string, nb: unknown): Promise<void> {
  const res = await rt.call("PUT", `/threads/${TENANT}/${thread}/files/${rel}`, { raw: JSON.stringify(nb) });
  expect(res.status, await res.text()).toBe(201);
}

const DEMO = notebookOf([
  markdown("# A demo"),
  code(["x = 2\n", "print('hello', x)"]),
  code(""),
  code("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.title('line');"),
  code("x * 21"),
  code("import sys\nprint('to stderr', file=sys.stderr)\n1 / 0"),
  code("print('after the error')"),
]);

describe("a notebook of the workspace", () => {
  it("runs the code cells in order, answers per cell and writes valid outputs back into the file", async () => {
    const thread = newThread("nb");
    await putNotebook(thread, "work/demo.ipynb", DEMO);
    const r = await run(thread, { notebook: "/workspace/work/demo.ipynb" });
    expect(r.path).toBe("work/demo.ipynb");
    expect(r.written).toBe(true);
    expect(r.ok).toBe(false);
    // Markdown and the empty cell are not run; the cell after the error is not run either (stop_on_error).
    expect(r.cells.map((c) => [c.index, c.execution_count, c.ok])).toEqual([
      [1, 1, true],
      [3, 2, true],
      [4, 3, true],
      [5, 4, false],
    ]);
    expect(r.not_run).toBe(1);
    expect(r.cells[0]?.outputs).toEqual([{ output_type: "stream", name: "stdout", text: "hello 2\n" }]);
    const figure = r.cells[1]?.outputs.find((o) => o.output_type === "display_data");
    expect(figure && "data" in figure ? String(figure.data["image/png"]).slice(0, 8) : null).toBe("iVBORw0K");
    expect(r.cells[2]?.outputs).toEqual([{ output_type: "execute_result", execution_count: 3, data: { "text/plain": "42" }, metadata: {} }]);
    expect(r.cells[3]?.error?.type).toBe("ZeroDivisionError");
    expect(r.cells[3]?.outputs.map((o) => o.output_type)).toEqual(["stream", "error"]);

    const file = hostPath(thread, "work/demo.ipynb");
    validateNotebook(file);
    const written = JSON.parse(await readFile(file, "utf8")) as { cells: { cell_type: string; execution_count?: number | null; outputs?: { output_type: string; ename?: string }[] }[] };
    expect(written.cells.map((c) => c.execution_count ?? null)).toEqual([null, 1, null, 2, 3, 4, null]);
    expect(written.cells[5]?.outputs?.at(-1)).toMatchObject({ output_type: "error", ename: "ZeroDivisionError" });
    expect(written.cells[6]?.outputs).toEqual([]);
    expect(written.cells[0]).toEqual(DEMO.cells[0]);
  });

  it("runs every cell with stop_on_error: false, in the notebook's directory", async () => {
    const thread = newThread("nb-all");
    await putNotebook(thread, "sub/all.ipynb", notebookOf([code("1 / 0"), code("import os\nprint(os.getcwd().endswith('/sub'))")]));
    const r = await run(thread, { notebook: "sub/all.ipynb", stop_on_error: false });
    expect(r.cells.map((c) => c.ok)).toEqual([false, true]);
    expect(r.not_run).toBe(0);
    expect(r.cells[1]?.outputs).toEqual([{ output_type: "stream", name: "stdout", text: "True\n" }]);
    validateNotebook(hostPath(thread, "sub/all.ipynb"));
  });

  it("streams each cell's output as events before the result", async () => {
    const thread = newThread("nb-sse");
    await putNotebook(thread, "s.ipynb", notebookOf([code("print('one')"), code("print('two')")]));
    const events = await readEvents(await jupyter(thread, { notebook: "s.ipynb" }, "sse"));
    const out = events.filter((e) => e.type === "stdout").map((e) => (e.type === "stdout" ? e.data : ""));
    expect(out.join("")).toBe("one\ntwo\n");
    const last = events.at(-1);
    expect(last?.type === "result" && last.result.kind).toBe("notebook");
  });

  it("stops at the timeout and still writes what ran", async () => {
    const thread = newThread("nb-timeout");
    await putNotebook(thread, "t.ipynb", notebookOf([code("print('quick')"), code("import time\ntime.sleep(60)"), code("print('never')")]));
    const r = await run(thread, { notebook: "t.ipynb", timeout: 3 });
    expect(r.timed_out).toBe(true);
    expect(r.cells.map((c) => c.ok)).toEqual([true, false]);
    expect(r.not_run).toBe(1);
    expect(r.written).toBe(true);
    validateNotebook(hostPath(thread, "t.ipynb"));
  });
});

describe("IPython lines in notebook cells", () => {
  it("runs !commands and %pip install (into the thread's venv, from a loopback index)", async () => {
    const thread = newThread("nb-magic");
    await putNotebook(thread, "m.ipynb", notebookOf([code("!echo from the shell"), code("%pip install -q tbx-hello==1.0.0\nimport tbx_hello\ntbx_hello.hello()")]));
    const r = await run(thread, { notebook: "m.ipynb", timeout: 240 });
    expect(r.cells.map((c) => c.ok), JSON.stringify(r.cells.map((c) => c.error))).toEqual([true, true]);
    expect(r.cells[0]?.outputs).toEqual([{ output_type: "stream", name: "stdout", text: "from the shell\n" }]);
    expect(r.cells[1]?.outputs.at(-1)).toMatchObject({ output_type: "execute_result", data: { "text/plain": "'hello from tbx-hello 1.0.0'" } });
    validateNotebook(hostPath(thread, "m.ipynb"));
  });
});

describe("inline notebooks and named contexts", () => {
  it("answers an inline notebook with its outputs and writes nothing", async () => {
    const thread = newThread("nb-inline");
    const r = await run(thread, { notebook: notebookOf([code("y = 5"), code("y + 1")]) });
    expect(r.path).toBeNull();
    expect(r.written).toBe(false);
    expect(r.ok).toBe(true);
    const nb = r.notebook as { cells: { outputs: unknown[] }[] };
    expect(nb.cells[1]?.outputs).toEqual([{ output_type: "execute_result", execution_count: 2, data: { "text/plain": "6" }, metadata: {} }]);
  });

  it("runs in a named context: its state is used and kept, its counter goes on", async () => {
    const thread = newThread("nb-ctx");
    const ctx = await createContext(thread);
    await value(thread, ctx.id, "base = 100");
    const r = await run(thread, { notebook: notebookOf([code("total = base + 1\ntotal")]), context: ctx.id });
    expect(r.context_id).toBe(ctx.id);
    expect(r.cells[0]?.execution_count).toBe(2);
    expect(await value(thread, ctx.id, "total")).toBe("101");
  });
});

describe("refused notebooks (4xx before anything runs)", () => {
  it("not nbformat 4, not JSON, a path outside the workspace, a missing file, an unknown context", async () => {
    const thread = newThread("nb-bad");
    const v3 = { nbformat: 3, nbformat_minor: 0, metadata: {}, worksheets: [] };
    expect(await failure(await jupyter(thread, { notebook: v3 }), 400)).toBe("INVALID_NOTEBOOK");
    expect(await failure(await jupyter(thread, { notebook: { cells: "no" } }), 400)).toBe("INVALID_NOTEBOOK");
    await putNotebook(thread, "old.ipynb", v3);
    expect(await failure(await jupyter(thread, { notebook: "old.ipynb" }), 400)).toBe("INVALID_NOTEBOOK");
    const res = await rt.call("PUT", `/threads/${TENANT}/${thread}/files/text.ipynb`, { raw: "not json {" });
    expect(res.status).toBe(201);
    expect(await failure(await jupyter(thread, { notebook: "text.ipynb" }), 400)).toBe("INVALID_NOTEBOOK");
    expect(await failure(await jupyter(thread, { notebook: "../escape.ipynb" }), 400)).toBe("INVALID_PATH");
    expect(await failure(await jupyter(thread, { notebook: "missing.ipynb" }), 404)).toBe("FILE_NOT_FOUND");
    expect(await failure(await jupyter(newThread("nb-none"), { notebook: "a.ipynb" }), 404)).toBe("FILE_NOT_FOUND");
    expect(await failure(await jupyter(thread, { notebook: notebookOf([]), context: "ctx_nothere" }), 404)).toBe("CONTEXT_NOT_FOUND");
    const js = await createContext(thread, { language: "javascript" });
    expect(await failure(await jupyter(thread, { notebook: notebookOf([code("1")]), context: js.id }), 400)).toBe("VALIDATION_FAILED");
  });

  it("a notebook file over the request cap is 413", async () => {
    const thread = newThread("nb-big");
    await putNotebook(thread, "seed.ipynb", notebookOf([]));
    const big = notebookOf([code(`s = '${"x".repeat(300 * 1024)}'`)]);
    await writeFile(hostPath(thread, "big.ipynb"), JSON.stringify(big));
    expect(await failure(await jupyter(thread, { notebook: "big.ipynb" }), 413)).toBe("PAYLOAD_TOO_LARGE");
  });

  it("a link or FIFO planted at the notebook's path is refused and left as it is", async () => {
    const thread = newThread("nb-link");
    await putNotebook(thread, "real.ipynb", notebookOf([code("print(1)")]));
    const secret = path.join(rt.root, "secret.ipynb");
    await writeFile(secret, JSON.stringify(notebookOf([code("print('host')")])));
    await symlink(secret, hostPath(thread, "link.ipynb"));
    await symlink("real.ipynb", hostPath(thread, "rel-link.ipynb"));
    await mkdir(hostPath(thread, "d"), { recursive: true });
    await symlink(path.dirname(secret), hostPath(thread, "dirlink"));
    execFileSync("mkfifo", [hostPath(thread, "pipe.ipynb")]);
    for (const p of ["link.ipynb", "rel-link.ipynb", "pipe.ipynb", "d"]) {
      expect(await failure(await jupyter(thread, { notebook: p }), 409), p).toBe("NOT_A_FILE");
    }
    // A link on the way to the file: refused as the file API refuses it (the walk never follows it).
    expect(await failure(await jupyter(thread, { notebook: "dirlink/secret.ipynb" }), 400)).toBe("INVALID_PATH");
    expect(JSON.parse(await readFile(secret, "utf8"))).toEqual(notebookOf([code("print('host')")]));
  });
});
