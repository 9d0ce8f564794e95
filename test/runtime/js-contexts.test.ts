import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecutionEvent } from "../../shared/src/index.ts";
import { InterpreterContext } from "../../runtime-container/src/contexts/interpreter-context.ts";
import { KERNELS } from "../../runtime-container/src/contexts/kernels.ts";
import { cellOf, contextClient, newThread } from "./context-client.ts";
import { type RuntimeProcess, liveEvents, readEvents, startRuntime } from "./harness.ts";

// JavaScript and TypeScript contexts against a real Node kernel in the real sandbox: notebook semantics across
// cells, top-level await, rich results, live output, errors at the cell's line, the three ways a timeout ends
// (interrupted, abandoned, killed), crashes, the workspace's node_modules, and TypeScript through esbuild.

let rt: RuntimeProcess;
beforeAll(async () => {
  // A grace long enough for an interrupted cell to come back, so "preserved" is not a race against the kill.
  rt = await startRuntime({ KILL_GRACE_MS: "2000" });
});
afterAll(async () => {
  await rt?.stop();
});

const { runCall, run, value, create, info } = contextClient(() => rt);
const createContext = (thread: string, language: "javascript" | "typescript" = "javascript") => create(thread, { language });

async function putFile(thread: string, rel: string, text: string): Promise<void> {
  const res = await rt.call("PUT", `/threads/acme/${thread}/files/${rel}`, { raw: text });
  expect(res.status, await res.text()).toBeLessThan(300);
}

describe("state across cells", () => {
  it("keeps let/const/function/class, lets a later cell declare a name again, and keeps the working directory", async () => {
    const thread = newThread("js-state");
    const { id } = await createContext(thread);
    expect(await createContext(thread)).toMatchObject({ language: "javascript", status: "idle" });
    await value(thread, id, "let x = 40\nconst inc = (n) => n + 1\nfunction twice(n) { return 2 * n }\nclass Box { constructor(v) { this.v = v } }");
    expect(await value(thread, id, "inc(x) + twice(1) - 1")).toBe("42");
    expect(await value(thread, id, "let x = 'again'\nconst inc = 5;\n[x, inc, new Box(3).v]")).toBe("[ 'again', 5, 3 ]");
    expect(await value(thread, id, "const { a, b: [c, ...rest] } = { a: 1, b: [2, 3, 4] }\nvar y\n[a, c, rest, y]")).toBe("[ 1, 2, [ 3, 4 ], undefined ]");
    await value(thread, id, "require('node:fs').mkdirSync('sub/dir', { recursive: true })\nprocess.chdir('sub/dir')");
    expect(await value(thread, id, "process.cwd()")).toBe("'/sub/dir'");
  });

  it("awaits at the top level, and returns a promise value as a promise", async () => {
    const thread = newThread("js-await");
    const { id } = await createContext(thread);
    expect(await value(thread, id, "const r = await new Promise((res) => setTimeout(() => res(21), 50))\nr * 2")).toBe("42");
    expect(await value(thread, id, "r + (await Promise.all([1, 2].map(async (n) => n)))[1]")).toBe("23");
    expect(await value(thread, id, "Promise.resolve(3)")).toBe("Promise { 3 }");
  });
});

describe("output", () => {
  it("returns the final expression's text/plain, text/html from _repr_html_, and no result for statements", async () => {
    const thread = newThread("js-result");
    const { id } = await createContext(thread);
    const r = await run(thread, id, "class Table { _repr_html_() { return '<table><tr><td>1</td></tr></table>' } }\nnew Table()");
    expect(r).toMatchObject({ ok: true, error: null, state: "preserved", timed_out: false, context_id: id });
    expect(r.result).toEqual({ "text/plain": "Table {}", "text/html": "<table><tr><td>1</td></tr></table>" });
    expect((await run(thread, id, "'text'")).result).toEqual({ "text/plain": "'text'" });
    expect(await run(thread, id, "let z = 1\nconsole.log('hi')")).toMatchObject({ ok: true, result: null, stdout: "hi\n" });
    expect((await run(thread, id, "undefined")).result).toBeNull();
  });

  it("sends a display event from display()", async () => {
    const thread = newThread("js-display");
    const { id } = await createContext(thread);
    const events = await readEvents(await runCall(thread, id, "display({ k: 1 })\nconst y = 2", { accept: "sse" }));
    const shown = events.flatMap((e) => (e.type === "display" ? [e] : []));
    expect(shown).toEqual([expect.objectContaining({ mime: "text/plain", data: "{ k: 1 }", source: "display" })]);
    expect(cellOf(events).result).toBeNull();
  });

  it("streams console output live, in order, around an await", async () => {
    const thread = newThread("js-stream");
    const { id } = await createContext(thread);
    const code = "console.log('first')\nconsole.error('warned')\nawait new Promise((r) => setTimeout(r, 1000))\nconsole.log('second')\n'done'";
    const seen: { event: ExecutionEvent; at: number }[] = [];
    for await (const item of liveEvents(await runCall(thread, id, code, { accept: "sse" }))) seen.push(item);
    const events = seen.map((s) => s.event);
    expect(events[0]).toMatchObject({ type: "start", kind: "cell" });
    const out = events.flatMap((e) => (e.type === "stdout" ? [e.data] : [])).join("");
    expect(out).toBe("first\nsecond\n");
    const firstAt = seen.find((s) => s.event.type === "stdout" && s.event.data.includes("first"))?.at ?? Number.NaN;
    const secondAt = seen.find((s) => s.event.type === "stdout" && s.event.data.includes("second"))?.at ?? Number.NaN;
    expect(secondAt - firstAt).toBeGreaterThan(500); // "first" came while the cell still waited
    expect(cellOf(events)).toMatchObject({ ok: true, stdout: "first\nsecond\n", stderr: "warned\n", result: { "text/plain": "'done'" } });
  });

  it("reports errors with type, value, traceback and the line in the cell, and keeps the state", async () => {
    const thread = newThread("js-error");
    const { id } = await createContext(thread);
    await value(thread, id, "const a = 1\nfunction fail(what) {\n  throw new RangeError(what)\n}");
    const r = await run(thread, id, "const b = 2\n\nfail('bad thing')\nconst c = 3");
    expect(r).toMatchObject({ ok: false, result: null, state: "preserved", timed_out: false });
    expect(r.error).toMatchObject({ type: "RangeError", value: "bad thing", line: 3 });
    expect(r.error?.traceback).toContain("RangeError: bad thing");
    expect(r.error?.traceback).toContain("at fail (");
    expect(r.error?.traceback).not.toMatch(/\[eval\]|node:internal/);
    expect(await value(thread, id, "a + b")).toBe("3");
    const thrown = await run(thread, id, "let v = 1\nthrow 'plain'");
    expect(thrown.error).toMatchObject({ type: "string", value: "'plain'" });
    const syntax = await run(thread, id, "let s = 1\nlet t = (");
    expect(syntax).toMatchObject({ ok: false, state: "preserved", error: { type: "SyntaxError", line: 2 } });
    expect(syntax.error?.traceback).toContain("let t = (");
  });
});

describe("timeouts and crashes", () => {
  it("interrupts a synchronous endless loop and keeps the state", async () => {
    const thread = newThread("js-loop");
    const { id } = await createContext(thread);
    await value(thread, id, "const kept = 'still here'");
    const r = await run(thread, id, "let n = 0\nwhile (true) { n++ }", 1);
    expect(r).toMatchObject({ ok: false, timed_out: true, state: "preserved", error: { type: "Interrupted" } });
    expect(await run(thread, id, "kept")).toMatchObject({ ok: true, state: "preserved", result: { "text/plain": "'still here'" } });
  });

  it("abandons an await that never settles, and stops a loop that runs after an await, keeping the state", async () => {
    const thread = newThread("js-abandon");
    const { id } = await createContext(thread);
    await value(thread, id, "const kept = 7");
    const pending = await run(thread, id, "console.log('waiting')\nawait new Promise(() => {})", 1);
    expect(pending).toMatchObject({ ok: false, timed_out: true, state: "preserved", stdout: "waiting\n", error: { type: "Interrupted" } });
    const looping = await run(thread, id, "await null\nfor (;;) {}", 1);
    expect(looping).toMatchObject({ ok: false, timed_out: true, state: "preserved", error: { type: "Interrupted" } });
    expect(await value(thread, id, "kept * 6")).toBe("42");
  });

  it("kills and restarts a kernel blocked in a native call; the next cell has fresh state and says restarted", async () => {
    const thread = newThread("js-blocked");
    const { id } = await createContext(thread);
    await value(thread, id, "const kept = 1");
    // A synchronous child process blocks Node in C++: neither SIGINT nor the inspector can stop JavaScript there.
    const r = await run(thread, id, "require('node:child_process').execSync('sleep 60')", 1);
    expect(r).toMatchObject({ ok: false, timed_out: true, state: "restarted", error: { type: "TimeoutError" } });
    expect(r.duration_ms).toBeLessThan(30_000);
    expect(await run(thread, id, "typeof kept")).toMatchObject({ ok: true, state: "restarted", result: { "text/plain": "'undefined'" } });
    expect(await run(thread, id, "1 + 1")).toMatchObject({ ok: true, state: "preserved" });
  });

  it("reports process.exit as InterpreterDied and starts a fresh kernel on the next cell", async () => {
    const thread = newThread("js-crash");
    const { id } = await createContext(thread);
    await value(thread, id, "const kept = 1");
    const r = await run(thread, id, "console.log('bye')\nprocess.exit(3)");
    expect(r).toMatchObject({ ok: false, timed_out: false, state: "restarted", result: null, error: { type: "InterpreterDied" } });
    expect((await info(thread, id)).status).toBe("dead");
    expect(await run(thread, id, "typeof kept")).toMatchObject({ ok: true, state: "restarted", result: { "text/plain": "'undefined'" } });
  });
});

describe("modules", () => {
  it("requires and imports packages from the workspace's node_modules (CommonJS and ESM-only)", async () => {
    const thread = newThread("js-modules");
    await putFile(thread, "node_modules/greet/package.json", JSON.stringify({ name: "greet", main: "index.js" }));
    await putFile(thread, "node_modules/greet/index.js", "module.exports = { greet: (n) => `hi ${n}` };\n");
    const esm = { name: "esm-only", type: "module", exports: { import: "./index.js" } };
    await putFile(thread, "node_modules/esm-only/package.json", JSON.stringify(esm));
    await putFile(thread, "node_modules/esm-only/index.js", "export const answer = 42;\nexport default 'dflt';\n");
    const { id } = await createContext(thread);
    expect(await value(thread, id, "require('greet').greet('a')")).toBe("'hi a'");
    await value(thread, id, "import greetings, { greet } from 'greet'\nimport dflt, * as ns from 'esm-only'\nimport { readFileSync } from 'node:fs'");
    expect(await value(thread, id, "[greet('b'), typeof greetings.greet, dflt, ns.answer, typeof readFileSync]")).toBe(
      "[ 'hi b', 'function', 'dflt', 42, 'function' ]",
    );
    const missing = await run(thread, id, "import { nope } from 'esm-only'");
    expect(missing.error).toMatchObject({ type: "SyntaxError", value: expect.stringContaining("'nope'") });
  });
});

describe("TypeScript", () => {
  it("runs typed cells with interfaces and enums, keeps state, and maps an error to the line of the cell", async () => {
    const thread = newThread("js-ts");
    const { id } = await createContext(thread, "typescript");
    await value(
      thread,
      id,
      [
        "interface Point {",
        "  x: number;",
        "  y: number;",
        "}",
        "enum Color { Red, Green }",
        "const norm = (p: Point): number => Math.abs(p.x) + Math.abs(p.y);",
        "class Tagged<T> { constructor(public readonly value: T, private tag: string = 't') {} }",
        "function loud<This, A extends unknown[]>(method: (this: This, ...a: A) => string, _ctx: ClassMethodDecoratorContext) {",
        "  return function (this: This, ...a: A): string { return method.apply(this, a).toUpperCase(); };",
        "}",
        "class Greeter { @loud hello(name: string): string { return `hi ${name}`; } }",
      ].join("\n"),
    );
    expect(await value(thread, id, "new Greeter().hello('ts')")).toBe("'HI TS'");
    expect(await value(thread, id, "const p: Point = { x: 3, y: -4 };\n[norm(p), Color.Green, new Tagged<string>('v').value] as const")).toBe(
      "[ 7, 1, 'v' ]",
    );
    expect(await value(thread, id, "const wait = (ms: number): Promise<number> => new Promise((r) => setTimeout(() => r(ms), ms));\nawait wait(20)")).toBe("20");
    const failing = await run(thread, id, "type Id = string;\ninterface Unused {\n  a: Id;\n}\nconst q: Point | null = null;\nq!.x");
    expect(failing.error).toMatchObject({ type: "TypeError", line: 6 });
    expect(failing.error?.traceback).toMatch(/<cell-[^>]+>:6:/);
    const syntax = await run(thread, id, "const ok: number = 1;\nconst bad: = 2;");
    expect(syntax).toMatchObject({ ok: false, state: "preserved", error: { type: "SyntaxError", line: 2 } });
    expect(await value(thread, id, "p.x")).toBe("3");
  });
});

describe("the run op's env, straight to the kernels", () => {
  // Without the sandbox: what is under test is the kernels' handling of `env`, which no HTTP route sends yet.
  for (const language of ["javascript", "python"] as const) {
    it(`sets ${language} environment variables before the cell runs`, async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "threadbox-kernel-"));
      const kernel = KERNELS[language];
      const launch = async () => {
        const [file = "", ...args] = kernel.argv("/usr");
        return { file: language === "python" ? "python3" : file, args, cwd: dir, env: { PATH: process.env.PATH ?? "" } };
      };
      const context = new InterpreterContext(`ctx_${language}`, language, launch, 2000);
      try {
        await context.start();
        const code = language === "python" ? "import os\nos.environ.get('TB_DISPLAY')" : "process.env.TB_DISPLAY";
        const none = await context.run("c1", code, 10_000, () => {});
        expect(none.result).toBeNull();
        const set = await context.run("c2", code, 10_000, () => {}, { env: { TB_DISPLAY: ":7" } });
        expect(set.result?.["text/plain"]).toBe("':7'");
      } finally {
        context.kill();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
