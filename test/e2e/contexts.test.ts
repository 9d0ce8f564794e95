import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellResult,
  CellResultSchema,
  type ContextInfo,
  ContextInfoSchema,
  type ExecutionEvent,
  type ExecutionRecord,
  ExecutionRecordSchema,
} from "../../shared/src/index.ts";
import { Threadbox } from "../../client/src/index.ts";
import { type PackageIndex, startPackageIndex } from "../runtime/package-index.ts";
import { type ErrorJson, SSE, checkTerminal, createThread, dataOf, expectJson, liveEvents, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Stateful contexts through the public API: the worker forwards management to the thread's runtime, and a cell is
// an execution of the thread (recorded, streamed) like any other.

let stack: Stack;
let index: PackageIndex;
beforeAll(async () => {
  // A loopback package index for `%pip install` (no PyPI here).
  index = await startPackageIndex([{ name: "tbx-hello", version: "1.0.0" }]);
  stack = await startStack({ runtime: { PIP_INDEX_URL: index.url } });
});
afterAll(async () => {
  await stack?.stop();
  await index?.stop();
});

async function createContext(thread: string, language = "python"): Promise<ContextInfo> {
  return ContextInfoSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/contexts`, { body: { language } }), 201));
}

async function run(thread: string, ctx: string, code: string): Promise<CellResult> {
  return CellResultSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/contexts/${ctx}/run`, { body: { code } }), 200));
}

describe("contexts through the worker", () => {
  it("creates a context, keeps state across cells, streams a cell, and records cells in the history", async () => {
    const thread = await createThread(stack, uniqueId("ctx"));
    const ctx = await createContext(thread);
    expect(ctx).toMatchObject({ language: "python", status: "idle", cells: 0 });

    const first = await run(thread, ctx.id, "import math\nr = 3\ndef area(x):\n    return round(math.pi * x * x, 2)");
    expect(first).toMatchObject({ ok: true, result: null, state: "preserved", context_id: ctx.id });
    const second = await run(thread, ctx.id, "area(r)");
    expect(second).toMatchObject({ ok: true, result: { "text/plain": "28.27" } });

    const res = await stack.api("POST", `/v1/threads/${thread}/contexts/${ctx.id}/run`, {
      body: { code: "import time\nprint('first', flush=True)\ntime.sleep(1)\nprint('second')\nr * 2" },
      accept: SSE,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain(SSE);
    const seen: { event: ExecutionEvent; at: number }[] = [];
    for await (const item of liveEvents(res)) seen.push(item);
    const events = seen.map((s) => s.event);
    expect(events[0]).toMatchObject({ type: "start", kind: "cell" });
    const terminal = checkTerminal(events);
    if (terminal.type !== "result" || terminal.result.kind !== "cell") throw new Error(`unexpected ending: ${JSON.stringify(terminal)}`);
    expect(terminal.result.value).toMatchObject({ ok: true, result: { "text/plain": "6" }, stdout: "first\nsecond\n" });
    expect(dataOf(events, "stdout")).toBe("first\nsecond\n");
    const firstAt = seen.find((s) => s.event.type === "stdout" && s.event.data.includes("first"))?.at ?? Number.NaN;
    expect((seen.at(-1)?.at ?? 0) - firstAt).toBeGreaterThan(500); // live, not delivered with the result

    const list = await expectJson<{ executions: ExecutionRecord[] }>(stack.api("GET", `/v1/threads/${thread}/executions`), 200);
    const records = list.executions.map((e) => ExecutionRecordSchema.parse(e));
    expect(records).toHaveLength(3);
    for (const record of records) expect(record).toMatchObject({ kind: "cell", status: "succeeded" });
    const streamed = records.find((r) => r.id === terminal.execution_id);
    expect(streamed?.summary).toContain("import time");
    expect(streamed?.stdout_tail).toContain("second");

    const info = ContextInfoSchema.parse(await expectJson(stack.api("GET", `/v1/threads/${thread}/contexts/${ctx.id}`), 200));
    expect(info.cells).toBe(3);
    expect(info.rss_bytes).toBeGreaterThan(0);
    const listed = await expectJson<{ contexts: ContextInfo[] }>(stack.api("GET", `/v1/threads/${thread}/contexts`), 200);
    expect(listed.contexts.map((c) => c.id)).toEqual([ctx.id]);

    await expectJson(stack.api("DELETE", `/v1/threads/${thread}/contexts/${ctx.id}`), 200);
    const gone = await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${thread}/contexts/${ctx.id}`), 404);
    expect(gone.error.code).toBe("CONTEXT_NOT_FOUND");
  });

  it("runs a JavaScript context: declarations and top-level await across cells, and the error line", async () => {
    const thread = await createThread(stack, uniqueId("ctx-js"));
    const ctx = await createContext(thread, "javascript");
    expect(ctx).toMatchObject({ language: "javascript", status: "idle", cells: 0 });
    expect(await run(thread, ctx.id, "let base = 20\nconst add = (n) => n + base")).toMatchObject({ ok: true, result: null });
    const later = await run(thread, ctx.id, "let base = 21\nawait new Promise((r) => setTimeout(r, 20))\nconsole.log('waited')\nadd(21)");
    expect(later).toMatchObject({ ok: true, state: "preserved", stdout: "waited\n", result: { "text/plain": "42" } });
    const failed = await run(thread, ctx.id, "const a = 1\nundefinedFunction()");
    expect(failed).toMatchObject({ ok: false, state: "preserved", error: { type: "ReferenceError", line: 2 } });
    const info = ContextInfoSchema.parse(await expectJson(stack.api("GET", `/v1/threads/${thread}/contexts/${ctx.id}`), 200));
    expect(info).toMatchObject({ language: "javascript", cells: 3 });
    expect(info.rss_bytes).toBeGreaterThan(0);
  });

  it("answers another tenant's key with 404 on every context route", async () => {
    const thread = await createThread(stack, uniqueId("ctx-tenant"));
    const ctx = await createContext(thread);
    const b = stack.tenants.b.key;
    // A new context by b would create b's own thread of this id (below); everything else is a 404.
    const routes: [string, string, unknown?][] = [
      ["GET", `/v1/threads/${thread}/contexts`],
      ["GET", `/v1/threads/${thread}/contexts/${ctx.id}`],
      ["POST", `/v1/threads/${thread}/contexts/${ctx.id}/run`, { code: "1" }],
      ["POST", `/v1/threads/${thread}/contexts/${ctx.id}/restart`],
      ["DELETE", `/v1/threads/${thread}/contexts/${ctx.id}`],
    ];
    for (const [method, path, body] of routes) {
      const res = await expectJson<ErrorJson>(stack.api(method, path, { body, auth: b }), 404);
      expect(res.error.code, `${method} ${path}`).toBe("THREAD_NOT_FOUND");
    }
    const own = ContextInfoSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/contexts`, { body: { language: "python" }, auth: b }), 201));
    expect(own.id).not.toBe(ctx.id);
    const theirs = await expectJson<{ contexts: ContextInfo[] }>(stack.api("GET", `/v1/threads/${thread}/contexts`, { auth: b }), 200);
    expect(theirs.contexts.map((c) => c.id)).toEqual([own.id]);
    // Nothing of tenant a's context changed.
    expect(await run(thread, ctx.id, "1 + 1")).toMatchObject({ ok: true, result: { "text/plain": "2" } });
    const listed = await expectJson<{ contexts: ContextInfo[] }>(stack.api("GET", `/v1/threads/${thread}/contexts`), 200);
    expect(listed.contexts.map((c) => c.id)).toEqual([ctx.id]);
  });
});

describe("interpreter parity through the worker", () => {
  const sdk = () => new Threadbox({ baseUrl: stack.worker.url, apiKey: stack.tenants.a.key });

  it("restarts a context (SDK and route): same id and settings, fresh state, the counter from 1; info lists cwd and env names", async () => {
    const thread = await createThread(stack, uniqueId("ctx-restart"));
    await run(thread, (await createContext(thread)).id, "import os\nos.makedirs('work', exist_ok=True)");
    const created = ContextInfoSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/contexts`, { body: { cwd: "work", env: { TOKEN_NAME: "value-never-listed" } } }), 201),
    );
    expect(created).toMatchObject({ execution_count: 0, env: ["TOKEN_NAME"] });
    expect(created.cwd).toMatch(/\/work$/);
    expect(JSON.stringify(created)).not.toContain("value-never-listed");
    expect(await run(thread, created.id, "v = 1")).toMatchObject({ ok: true, execution_count: 1 });
    expect(await run(thread, created.id, "v + 1")).toMatchObject({ ok: true, execution_count: 2, result: { "text/plain": "2" } });

    const ctx = await sdk().thread(thread).contexts.get(created.id);
    expect(ctx.info.execution_count).toBe(2);
    const restarted = await ctx.restart();
    expect(restarted).toMatchObject({ id: created.id, status: "idle", execution_count: 0, cwd: created.cwd, env: ["TOKEN_NAME"] });
    const after = await ctx.run("import os\n('v' in globals(), os.getcwd(), os.environ['TOKEN_NAME'])");
    expect(after).toMatchObject({ ok: true, execution_count: 1, state: "preserved" });
    expect(after.result?.["text/plain"]).toBe(`(False, '${created.cwd}', 'value-never-listed')`);

    const again = ContextInfoSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/contexts/${created.id}/restart`), 200));
    expect(again.execution_count).toBe(0);
    const missing = await expectJson<ErrorJson>(stack.api("POST", `/v1/threads/${thread}/contexts/ctx_gone/restart`), 404);
    expect(missing.error.code).toBe("CONTEXT_NOT_FOUND");
    const bad = await expectJson<ErrorJson>(stack.api("POST", `/v1/threads/${thread}/contexts/not-an-id/restart`), 400);
    expect(bad.error.code).toBe("VALIDATION_FAILED");
  });

  it("applies a cell's env to that cell only", async () => {
    const thread = await createThread(stack, uniqueId("ctx-env"));
    const ctx = await createContext(thread);
    const code = "import os\nos.environ.get('ONLY')";
    const own = CellResultSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/contexts/${ctx.id}/run`, { body: { code, env: { ONLY: "cell" } } }), 200));
    expect(own.result?.["text/plain"]).toBe("'cell'");
    expect((await run(thread, ctx.id, code)).result).toBeNull();
  });

  it("shows a Python error with the user's frames only, rich outputs, and ! / %cd lines", async () => {
    const thread = await createThread(stack, uniqueId("ctx-py"));
    const ctx = await createContext(thread);
    const syntax = await run(thread, ctx.id, "y = (1 +");
    expect(syntax.error).toMatchObject({ type: "SyntaxError", line: 1 });
    expect(syntax.error?.traceback).not.toMatch(/run_cell|ast\.py|<string>/);

    const res = await stack.api("POST", `/v1/threads/${thread}/contexts/${ctx.id}/run`, {
      body: { code: "from PIL import Image\nImage.new('RGB', (4, 4)).show()\ndisplay({'text/latex': '$a$', 'application/json': {'k': 1}}, raw=True)\n!echo shell-line\n%cd /tmp\nclass M:\n    def _repr_markdown_(self): return '**m**'\nM()" },
      accept: SSE,
    });
    const events: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(res)) events.push(event);
    const shown = events.flatMap((e) => (e.type === "display" ? [[e.mime, e.data.slice(0, 12)]] : []));
    expect(shown).toEqual([["image/png", expect.stringMatching(/^iVBOR/)], ["text/latex", "$a$"], ["application/json", '{"k": 1}']]);
    const terminal = checkTerminal(events);
    if (terminal.type !== "result" || terminal.result.kind !== "cell") throw new Error(`unexpected ending: ${JSON.stringify(terminal)}`);
    expect(terminal.result.value).toMatchObject({ ok: true, stdout: "shell-line\n/tmp\n", result: { "text/markdown": "**m**" } });
  });

  it("installs with %pip install into the thread's venv, recorded like POST /packages", async () => {
    const thread = await createThread(stack, uniqueId("ctx-pip"));
    const ctx = await createContext(thread);
    const cell = await run(thread, ctx.id, "%pip install tbx-hello\nimport tbx_hello\ntbx_hello.__version__");
    expect(cell).toMatchObject({ ok: true, result: { "text/plain": "'1.0.0'" } });
    expect(cell.stdout).toContain("installed tbx-hello==1.0.0");
    const state = await expectJson<{ workspace: { packages?: unknown } | null }>(stack.api("GET", `/v1/threads/${thread}`), 200);
    expect(JSON.stringify(state.workspace)).toContain("tbx-hello");
  });
});
