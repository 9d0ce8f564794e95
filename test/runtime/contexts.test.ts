import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ContextInfo, EXECUTION_ID_HEADER, type ExecutionEvent, parseEvent, parseSseStream } from "../../shared/src/index.ts";
import { cellOf, contextClient, failure, newThread } from "./context-client.ts";
import { type RuntimeProcess, liveEvents, processesMatching, readEvents, startRuntime } from "./harness.ts";

// Stateful Python contexts against a real interpreter in the real sandbox: state across cells, rich results,
// live streaming, figures, errors, timeouts (interrupt vs restart), crashes, one cell at a time, and clean-up.

let rt: RuntimeProcess;
beforeAll(async () => {
  // A grace long enough for an interrupted cell to come back, so "preserved" is not a race against the kill.
  rt = await startRuntime({ KILL_GRACE_MS: "2000" });
});
afterAll(async () => {
  await rt?.stop();
});

const { contextsPath, runCall, run, value, info, create: createContext } = contextClient(() => rt);

/** Width and height from a PNG's IHDR chunk (bytes 16-23, big-endian), after checking the signature. */
function pngSize(base64: string): { width: number; height: number } {
  const png = Buffer.from(base64, "base64");
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function waitUntil(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe("state across cells", () => {
  it("keeps variables, functions, imports and the working directory", async () => {
    const thread = newThread("state");
    const { id } = await createContext(thread);
    await value(thread, id, "x = 41\ndef inc(n):\n    return n + 1\nimport json");
    expect(await value(thread, id, "json.dumps({'v': inc(x)})")).toBe(`'{"v": 42}'`);
    await value(thread, id, "import os\nos.makedirs('sub/dir', exist_ok=True)\nos.chdir('sub/dir')");
    expect(await value(thread, id, "os.getcwd()")).toMatch(/\/sub\/dir'$/);
  });

  it("runs real Python: dataclass, decorator, annotations, async def with top-level await", async () => {
    const thread = newThread("real");
    const { id } = await createContext(thread);
    await value(
      thread,
      id,
      [
        "from dataclasses import dataclass",
        "import asyncio, functools",
        "def twice(f):",
        "    @functools.wraps(f)",
        "    def wrapper(*a: int) -> int:",
        "        return 2 * f(*a)",
        "    return wrapper",
        "@dataclass",
        "class Point:",
        "    x: int",
        "    y: int = 0",
        "    @twice",
        "    def total(self) -> int:",
        "        return self.x + self.y",
        "async def later(v: int) -> int:",
        "    await asyncio.sleep(0.05)",
        "    return v * 10",
      ].join("\n"),
    );
    expect(await value(thread, id, "p = Point(3, 4)\np")).toBe("Point(x=3, y=4)");
    expect(await value(thread, id, "p.total(), Point.total.__name__, Point.__annotations__['x'].__name__")).toBe("(14, 'total', 'int')");
    expect(await value(thread, id, "r = await later(4)\nr + 2")).toBe("42");
    expect(await value(thread, id, "await asyncio.gather(later(1), later(2))")).toBe("[10, 20]");
  });

  it("loads asyncio only for a cell that awaits, and keeps one event loop for the cells after it", async () => {
    const thread = newThread("lazyloop");
    const { id } = await createContext(thread);
    // An idle context's memory: asyncio (and ssl, which it imports) is not loaded until a cell needs it.
    expect(await value(thread, id, "import sys\n'asyncio' in sys.modules")).toBe("False");
    await value(thread, id, "async def loop_now():\n    import asyncio\n    return asyncio.get_running_loop()");
    expect(await value(thread, id, "'asyncio' in sys.modules")).toBe("False");
    expect(await value(thread, id, "first = await loop_now()\n'asyncio' in sys.modules")).toBe("True");
    expect(await value(thread, id, "(await loop_now()) is first")).toBe("True");
  });

  it("returns the final expression as text/plain, and no result for statements only", async () => {
    const thread = newThread("result");
    const { id } = await createContext(thread);
    const r = await run(thread, id, "a = [1, 2]\na + [3]");
    expect(r).toMatchObject({ ok: true, error: null, timed_out: false, state: "preserved", context_id: id });
    expect(r.result).toEqual({ "text/plain": "[1, 2, 3]" });
    const s = await run(thread, id, "b = 1\nprint('hi')");
    expect(s).toMatchObject({ ok: true, result: null, stdout: "hi\n" });
    expect((await run(thread, id, "None")).result).toBeNull();
  });

  it("keeps two contexts of one thread apart", async () => {
    const thread = newThread("two");
    const a = await createContext(thread);
    const b = await createContext(thread);
    expect(a.id).not.toBe(b.id);
    await value(thread, a.id, "who = 'a'");
    await value(thread, b.id, "who = 'b'");
    expect(await value(thread, a.id, "who")).toBe("'a'");
    expect(await value(thread, b.id, "who")).toBe("'b'");
    const r = await run(thread, b.id, "del who\nwho");
    expect(r.error?.type).toBe("NameError");
    expect(await value(thread, a.id, "who")).toBe("'a'");
  });
});

describe("output", () => {
  it("streams a cell's stdout live over SSE: start, first, …, second, result", async () => {
    const thread = newThread("stream");
    const { id } = await createContext(thread);
    const res = await runCall(thread, id, "import time\nprint('first')\ntime.sleep(1)\nprint('second')", { accept: "sse" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    if (!res.body) throw new Error("no body");
    const seen: { event: ExecutionEvent; at: number }[] = [];
    for await (const msg of parseSseStream(res.body)) seen.push({ event: parseEvent(JSON.parse(msg.data)), at: performance.now() });
    const events = seen.map((s) => s.event);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const start = events[0];
    expect(start?.type === "start" && start.kind).toBe("cell");
    const outs = seen.filter((s) => s.event.type === "stdout");
    const text = outs.map((s) => (s.event.type === "stdout" ? s.event.data : "")).join("");
    expect(text).toBe("first\nsecond\n");
    const firstAt = outs.find((s) => s.event.type === "stdout" && s.event.data.includes("first"))?.at ?? Number.NaN;
    const secondIndex = events.findIndex((e) => e.type === "stdout" && e.data.includes("second"));
    expect(secondIndex).toBeGreaterThan(events.findIndex((e) => e.type === "stdout" && e.data.includes("first")));
    expect(events.at(-1)?.type).toBe("result");
    expect(secondIndex).toBeLessThan(events.length - 1);
    // "first" arrived while the cell was still sleeping, not batched with the result.
    expect((seen.at(-1)?.at ?? 0) - firstAt).toBeGreaterThan(500);
    const cell = cellOf(events);
    expect(cell).toMatchObject({ ok: true, stdout: "first\nsecond\n", execution_id: start?.execution_id });
  });

  it("renders a DataFrame as text/html with a table", async () => {
    const thread = newThread("pandas");
    const { id } = await createContext(thread);
    const r = await run(thread, id, "import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})");
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    expect(r.result?.["text/html"]).toContain("<table");
    expect(r.result?.["text/plain"]).toContain("a");
  });

  it("captures a matplotlib figure without savefig as a PNG display event", async () => {
    const thread = newThread("figure");
    const { id } = await createContext(thread);
    const res = await runCall(thread, id, "import matplotlib.pyplot as plt\nplt.figure(figsize=(4, 3))\nplt.plot([1, 2, 3], [4, 1, 5])\nx = 1", {
      accept: "sse",
    });
    const events = await readEvents(res);
    expect(cellOf(events).ok, JSON.stringify(cellOf(events).error)).toBe(true);
    const figures = events.flatMap((e) => (e.type === "display" && e.source === "figure" ? [e] : []));
    expect(figures).toHaveLength(1);
    expect(figures[0]?.mime).toBe("image/png");
    const { width, height } = pngSize(figures[0]?.data ?? "");
    expect(width).toBeGreaterThan(100);
    expect(height).toBeGreaterThan(100);
    expect(width).toBeLessThan(5000);
    // Figures are closed after the cell: the next one does not show it again.
    const next = await readEvents(await runCall(thread, id, "x + 1", { accept: "sse" }));
    expect(next.filter((e) => e.type === "display")).toEqual([]);
  });

  it("sends a display event from the display() helper", async () => {
    const thread = newThread("display");
    const { id } = await createContext(thread);
    const events = await readEvents(await runCall(thread, id, "display({'k': 1})\ny = 2", { accept: "sse" }));
    const shown = events.flatMap((e) => (e.type === "display" ? [e] : []));
    expect(shown).toEqual([expect.objectContaining({ mime: "text/plain", data: "{'k': 1}", source: "display" })]);
    expect(cellOf(events).result).toBeNull();
  });

  it("reports an error with type, value, traceback and the line in the cell", async () => {
    const thread = newThread("error");
    const { id } = await createContext(thread);
    const r = await run(thread, id, "a = 1\nb = 2\nraise ValueError('bad thing')\nc = 3");
    expect(r).toMatchObject({ ok: false, result: null, state: "preserved", timed_out: false });
    expect(r.error).toMatchObject({ type: "ValueError", value: "bad thing", line: 3 });
    expect(r.error?.traceback).toContain("ValueError: bad thing");
    expect(r.error?.traceback).not.toContain("run_cell");
    expect(await value(thread, id, "a + b")).toBe("3");
    const syntax = await run(thread, id, "x = 1\ny = (");
    expect(syntax.error?.type).toBe("SyntaxError");
    expect(syntax.error?.line).toBe(2);
  });
});

describe("timeouts and crashes", () => {
  it("interrupts a timed-out cell and keeps the state", async () => {
    const thread = newThread("interrupt");
    const { id } = await createContext(thread);
    await value(thread, id, "x = 1");
    const r = await run(thread, id, "import time\ntime.sleep(30)", 1);
    expect(r).toMatchObject({ ok: false, timed_out: true, state: "preserved" });
    expect(r.error?.type).toBe("KeyboardInterrupt");
    expect(r.duration_ms).toBeLessThan(10_000);
    const next = await run(thread, id, "x");
    expect(next).toMatchObject({ ok: true, state: "preserved", result: { "text/plain": "1" } });
  });

  it("interrupts a cancelled cell, says canceled, and keeps the state", async () => {
    const thread = newThread("cancel");
    const { id } = await createContext(thread);
    await value(thread, id, "x = 1");
    const executionId = `ex_${randomUUID().replaceAll("-", "")}`;
    const res = await rt.call("POST", `${contextsPath(thread)}/${id}/run`, {
      body: { code: "import time\nprint('started', flush=True)\ntime.sleep(60)", timeout: 120 },
      accept: "ndjson",
      headers: { [EXECUTION_ID_HEADER]: executionId },
    });
    const events: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(res)) {
      events.push(event);
      if (event.type === "stdout") expect(await rt.json("POST", `/executions/${executionId}/cancel`)).toEqual({ execution_id: executionId, cancelled: true });
    }
    const last = events.at(-1);
    const r = last?.type === "result" && last.result.kind === "cell" ? last.result.value : null;
    expect(r).toMatchObject({ ok: false, canceled: true, timed_out: false, state: "preserved" });
    expect(r?.error?.type).toBe("KeyboardInterrupt");
    expect(await run(thread, id, "x")).toMatchObject({ ok: true, state: "preserved", result: { "text/plain": "1" } });
  });

  it("restarts an interpreter that ignores the interrupt; the next cell has fresh state and says restarted", async () => {
    const thread = newThread("restart");
    const { id } = await createContext(thread);
    await value(thread, id, "x = 1");
    const r = await run(thread, id, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", 1);
    expect(r).toMatchObject({ ok: false, timed_out: true, state: "restarted" });
    expect(r.error?.type).toBe("TimeoutError");
    const next = await run(thread, id, "'x' in globals()");
    expect(next).toMatchObject({ ok: true, state: "restarted", result: { "text/plain": "False" } });
    const after = await run(thread, id, "1 + 1");
    expect(after).toMatchObject({ ok: true, state: "preserved" });
  });

  it("reports a crash as InterpreterDied and starts a fresh interpreter on the next cell", async () => {
    const thread = newThread("crash");
    const { id } = await createContext(thread);
    await value(thread, id, "x = 1");
    const r = await run(thread, id, "import os\nprint('bye')\nos._exit(3)");
    expect(r).toMatchObject({ ok: false, timed_out: false, state: "restarted", result: null });
    expect(r.error?.type).toBe("InterpreterDied");
    expect((await info(thread, id)).status).toBe("dead");
    const next = await run(thread, id, "'x' in globals()");
    expect(next).toMatchObject({ ok: true, state: "restarted", result: { "text/plain": "False" } });
    expect((await info(thread, id)).status).toBe("idle");
  });
});

describe("one cell at a time", () => {
  it("answers CONTEXT_BUSY on the same context while another context of the thread runs concurrently", async () => {
    const thread = newThread("busy");
    const a = await createContext(thread);
    const b = await createContext(thread);
    const slow = await runCall(thread, a.id, "import time\nprint('going', flush=True)\ntime.sleep(3)\n'slept'", { accept: "sse" });
    if (!slow.body) throw new Error("no body");
    const reader = parseSseStream(slow.body)[Symbol.asyncIterator]();
    // Wait until the cell is running (its first output), so the busy check is not a race with its start.
    for (;;) {
      const next = await reader.next();
      if (next.done) throw new Error("the slow cell ended early");
      if (parseEvent(JSON.parse(next.value.data)).type === "stdout") break;
    }
    expect((await info(thread, a.id)).status).toBe("busy");
    expect(await failure(await runCall(thread, a.id, "1"), 409)).toBe("CONTEXT_BUSY");
    expect(await value(thread, b.id, "'other'")).toBe("'other'");
    expect((await info(thread, a.id)).status).toBe("busy"); // b finished while a still slept
    const rest: ExecutionEvent[] = [];
    for (let next = await reader.next(); !next.done; next = await reader.next()) rest.push(parseEvent(JSON.parse(next.value.data)));
    expect(cellOf(rest).result).toEqual({ "text/plain": "'slept'" });
    expect(await value(thread, a.id, "2")).toBe("2");
  });

  it("runs only one of two cells submitted at the same moment; the other is CONTEXT_BUSY", async () => {
    const thread = newThread("race");
    const { id } = await createContext(thread);
    const both = await Promise.all([runCall(thread, id, "import time\ntime.sleep(1)\n'one'"), runCall(thread, id, "'two'")]);
    const answers = await Promise.all(both.map(async (r) => ({ status: r.status, body: JSON.parse(await r.text()) })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.status === 409)?.body.error.code).toBe("CONTEXT_BUSY");
  });
});

describe("management", () => {
  it("reports memory and cell counts, lists, deletes, and a deleted context is not found", async () => {
    const thread = newThread("manage");
    const created = await createContext(thread);
    expect(created).toMatchObject({ language: "python", status: "idle", cells: 0 });
    expect(created.id).toMatch(/^ctx_/);
    await value(thread, created.id, "x = 1");
    await value(thread, created.id, "x");
    const got = await info(thread, created.id);
    expect(got.cells).toBe(2);
    expect(got.rss_bytes).toBeGreaterThan(0);
    const listed = await rt.json<{ contexts: ContextInfo[] }>("GET", contextsPath(thread));
    expect(listed.contexts.map((c) => c.id)).toEqual([created.id]);
    expect(await rt.json("DELETE", `${contextsPath(thread)}/${created.id}`)).toEqual({ id: created.id, deleted: true });
    expect(await failure(await runCall(thread, created.id, "x"), 404)).toBe("CONTEXT_NOT_FOUND");
    expect(await failure(await rt.call("GET", `${contextsPath(thread)}/${created.id}`), 404)).toBe("CONTEXT_NOT_FOUND");
    expect((await rt.json<{ contexts: ContextInfo[] }>("GET", contextsPath(thread))).contexts).toEqual([]);
  });

  it("refuses a language it has no kernel for with VALIDATION_FAILED", async () => {
    const res = await rt.call("POST", contextsPath(newThread("ruby")), { body: { language: "ruby" } });
    expect(await failure(res, 400)).toBe("VALIDATION_FAILED");
  });

  it("leaves no process of a deleted context behind, its subprocesses included", async () => {
    const thread = newThread("reap");
    const { id } = await createContext(thread);
    const marker = `tbxctx${randomUUID().replaceAll("-", "")}`;
    await value(
      thread,
      id,
      "import subprocess, sys\n" +
        `child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)', '${marker}-child'])\n` +
        `session = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)', '${marker}-session'], start_new_session=True)`,
    );
    expect(await waitUntil(async () => (await processesMatching(marker)).length === 2, 5_000)).toBe(true);
    await rt.json("DELETE", `${contextsPath(thread)}/${id}`);
    const gone = await waitUntil(async () => (await processesMatching(marker)).length === 0, 5_000);
    expect(gone, (await processesMatching(marker)).join("\n")).toBe(true);
  });

  it("stops every context of a thread on release", async () => {
    const thread = newThread("release");
    const a = await createContext(thread);
    const b = await createContext(thread);
    const marker = `tbxrel${randomUUID().replaceAll("-", "")}`;
    for (const ctx of [a.id, b.id]) {
      await value(thread, ctx, `import subprocess, sys\np = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)', '${marker}'])`);
    }
    expect(await waitUntil(async () => (await processesMatching(marker)).length === 2, 5_000)).toBe(true);
    expect(await rt.json("POST", `/threads/acme/${thread}/release`)).toMatchObject({ released: true, contexts: 2 });
    expect((await rt.json<{ contexts: ContextInfo[] }>("GET", contextsPath(thread))).contexts).toEqual([]);
    expect(await failure(await runCall(thread, a.id, "1"), 404)).toBe("CONTEXT_NOT_FOUND");
    const gone = await waitUntil(async () => (await processesMatching(marker)).length === 0, 5_000);
    expect(gone, (await processesMatching(marker)).join("\n")).toBe(true);
  });
});

describe("thread state", () => {
  it("reports the thread's contexts with their memory", async () => {
    const created = await rt.json<{ id: string }>("POST", "/threads/acme/ctx-state/contexts", { language: "python" }, 201);
    const state = await rt.json<{ contexts: { id: string; rss_bytes: number | null }[] }>("GET", "/threads/acme/ctx-state");
    expect(state.contexts.map((c) => c.id)).toEqual([created.id]);
    expect(state.contexts[0]?.rss_bytes ?? 0).toBeGreaterThan(0);
  });
});

describe("limits", () => {
  it("applies a context's limits to its interpreter for its life, and refuses ones above the runtime's maxima", async () => {
    const created = await rt.json<{ id: string }>("POST", "/threads/acme/ctx-limits/contexts", { language: "python", limits: { memory_mb: 512, open_files: 64 } }, 201);
    const cell = await rt.json<{ ok: boolean; result: Record<string, string> }>("POST", `/threads/acme/ctx-limits/contexts/${created.id}/run`, {
      code: "import resource\n(resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20, resource.getrlimit(resource.RLIMIT_NOFILE)[0])",
    });
    expect(cell).toMatchObject({ ok: true, result: { "text/plain": "(512, 64)" } });
    const big = await rt.json<{ ok: boolean; error: { type: string } }>("POST", `/threads/acme/ctx-limits/contexts/${created.id}/run`, { code: "b = bytearray(1024 * 2**20)" });
    expect(big).toMatchObject({ ok: false, error: { type: "MemoryError" } });
    const refused = await rt.call("POST", "/threads/acme/ctx-limits/contexts", { body: { language: "python", limits: { memory_mb: 10 ** 7 } } });
    expect(await failure(refused, 400)).toBe("VALIDATION_FAILED");
  });
});
