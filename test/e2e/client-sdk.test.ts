import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecutionEvent, type Threadbox, ThreadboxError } from "../../client/src/index.ts";
import { type ClientStack, startClientStack } from "./client-stack.ts";
import { type CutProxy, startCutProxy } from "./cut-proxy.ts";
import { uniqueId, waitFor } from "./helpers.ts";

// The SDK (threadbox/client) against the whole stack: wrangler dev + a real runtime, keys from `npm run keys`.

let cs: ClientStack;
let tb: Threadbox;
let proxy: CutProxy;
beforeAll(async () => {
  cs = await startClientStack();
  tb = cs.client();
  proxy = await startCutProxy(cs.url);
});
afterAll(async () => {
  await proxy?.stop();
  await cs?.stack.stop();
});

async function drain(stream: AsyncIterable<ExecutionEvent>): Promise<ExecutionEvent[]> {
  const out: ExecutionEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

/** Every seq from 0 exactly once, in order, one terminal event at the end. */
function expectWhole(events: ExecutionEvent[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
  expect(events.filter((e) => e.type === "result" || e.type === "error").length).toBe(1);
  expect(events.at(-1)?.type).toBe("result");
}

const stdoutOf = (events: ExecutionEvent[]) => events.flatMap((e) => (e.type === "stdout" ? [e.data] : [])).join("");

describe("threads and executions", () => {
  it("createThread, then exec resolves to the typed result with output callbacks; failed user code is a result", async () => {
    const thread = await tb.createThread({ id: uniqueId("sdk") });
    const chunks: string[] = [];
    const errs: string[] = [];
    const types: string[] = [];
    const ok = await thread.exec("echo one; echo two >&2; echo three", {
      onStdout: (d) => void chunks.push(d),
      onStderr: (d) => void errs.push(d),
      onEvent: (e) => void types.push(e.type),
    });
    expect(ok).toMatchObject({ exit_code: 0, stdout: "one\nthree\n", stderr: "two\n", timed_out: false });
    expect(chunks.join("")).toBe("one\nthree\n");
    expect(errs.join("")).toBe("two\n");
    expect(types[0]).toBe("start");
    expect(types.at(-1)).toBe("result");

    const failed = await thread.exec("exit 3");
    expect(failed.exit_code).toBe(3);
    const py = await thread.runPython("print(1/0)");
    expect(py).toMatchObject({ is_error: true, metadata: { error_type: "ZeroDivisionError", error_code: "RUNTIME_ERROR" } });

    const state = await thread.state();
    expect(state.id).toBe(thread.id);
    expect(state.counts.executions).toBe(3);
  });

  it("streams typed events with for await: seq from 0, start first, the result last, the execution id known", async () => {
    const thread = tb.thread(uniqueId("stream"));
    const stream = thread.exec("for i in 1 2 3; do echo $i; sleep 0.2; done", { stream: true });
    const events = await drain(stream);
    expectWhole(events);
    expect(events[0]?.type).toBe("start");
    expect(stdoutOf(events)).toBe("1\n2\n3\n");
    const last = events.at(-1);
    if (last?.type !== "result" || last.result.kind !== "exec") throw new Error("no exec result");
    expect(last.result.value.execution_id).toBe(stream.executionId);
  });

  it("runPython and runCode in every language resolve to their own result types", async () => {
    const thread = tb.thread(uniqueId("code"));
    const py = await thread.runPython("from calc import add\nprint(add(2, 3))", { files: { "calc.py": "def add(a, b):\n    return a + b\n" } });
    expect(py).toMatchObject({ text: "5", is_error: false, metadata: { files_created: ["calc.py"] } });
    expect((await thread.runCode("python", "print(6 * 7)")).text).toBe("42");
    expect((await thread.runCode("bash", "echo $((6 * 7))")).stdout).toBe("42\n");
    expect((await thread.runCode("javascript", "console.log(await Promise.resolve(42))")).stdout).toBe("42\n");
    expect((await thread.runCode("typescript", "const n: number = 42; console.log(n)")).stdout).toBe("42\n");
  });

  it("a thread is created on first use, also by two calls racing for it", async () => {
    const id = uniqueId("first-use");
    const [a, b] = await Promise.all([tb.thread(id).exec("echo a"), tb.thread(id).files.write("b.txt", "b")]);
    expect(a.stdout).toBe("a\n");
    expect(b).toEqual({ path: "b.txt", size: 1 });
    await expect(tb.createThread({ id })).rejects.toMatchObject({ code: "THREAD_EXISTS", status: 409 });
    const offline = tb.thread(uniqueId("offline"), { network: "none" });
    const curl = await offline.exec(`python3 -c "import socket; socket.create_connection(('127.0.0.1', ${new URL(cs.url).port}), 2)"`);
    expect(curl.exit_code).not.toBe(0);
  });

  it("files: write, read as bytes and text, list, remove; a missing file is a typed FILE_NOT_FOUND", async () => {
    const files = tb.thread(uniqueId("files")).files;
    const bytes = new Uint8Array([0, 1, 2, 255]);
    expect(await files.write("data/raw.bin", bytes)).toEqual({ path: "data/raw.bin", size: 4 });
    expect(await files.write("/workspace/data/note é.txt", "héllo")).toEqual({ path: "data/note é.txt", size: 6 });
    expect(await files.read("data/raw.bin")).toEqual(bytes);
    expect(await files.read("data/note é.txt", { as: "text" })).toBe("héllo");
    const list = await files.list("data");
    expect(list.entries.map((e) => e.name).sort()).toEqual(["note é.txt", "raw.bin"]);
    expect((await files.list("", { recursive: true })).entries.map((e) => e.path)).toContain("data/raw.bin");
    expect(await files.remove("data", { recursive: true })).toEqual({ deleted: "data" });
    const err = await files.read("data/raw.bin").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThreadboxError);
    expect(err).toMatchObject({ code: "FILE_NOT_FOUND", status: 404 });
    expect((err as ThreadboxError).requestId).toMatch(/\S/);
  });

  it("contexts keep state between cells, send figures to onDisplay, and are gone after delete", async () => {
    const thread = tb.thread(uniqueId("ctx"));
    const ctx = await thread.contexts.create();
    expect(ctx.language).toBe("python");
    await ctx.run("import matplotlib.pyplot as plt\nn = 20");
    const displays: string[] = [];
    const cell = await ctx.run("plt.plot([1, 2, 3])\nplt.show()\nn + 22", { onDisplay: (d) => void displays.push(d.mime) });
    expect(cell).toMatchObject({ ok: true, result: { "text/plain": "42" }, state: "preserved" });
    expect(displays).toEqual(["image/png"]);
    expect(cell.displays?.[0]?.source).toBe("figure");
    expect((await thread.contexts.list()).map((c) => c.id)).toContain(ctx.id);
    await ctx.delete();
    await expect(ctx.run("n")).rejects.toMatchObject({ code: "CONTEXT_NOT_FOUND", status: 404 });
  });

  it("executions: list, get, events after a seq, and cancel of a running one (a result, not an error)", async () => {
    const thread = tb.thread(uniqueId("hist"));
    const done = await thread.exec("echo a; echo b; echo c");
    const records = await thread.executions.list({ limit: 5 });
    expect(records[0]?.id).toBe(done.execution_id);
    expect(await thread.executions.get(done.execution_id)).toMatchObject({ status: "succeeded", exit_code: 0 });
    const replay = await drain(thread.executions.events(done.execution_id, { after: 1 }));
    expect(replay[0]?.seq).toBe(2);
    expect(replay.at(-1)?.type).toBe("result");

    const running = thread.exec("echo started; sleep 60", { stream: true });
    const seen: ExecutionEvent[] = [];
    for await (const e of running) {
      seen.push(e);
      if (e.type === "stdout") expect(await running.cancel()).toBe(true);
    }
    const last = seen.at(-1);
    if (last?.type !== "result" || last.result.kind !== "exec") throw new Error("no exec result");
    expect(last.result.value.canceled).toBe(true);
    expect(await thread.executions.cancel(last.execution_id)).toBe(false);
  });

  it("an aborted call stops reading (AbortError); the execution runs on until cancelled", async () => {
    const thread = tb.thread(uniqueId("abort"));
    const controller = new AbortController();
    let id: string | undefined;
    const call = thread.exec("echo go; sleep 60", {
      signal: controller.signal,
      onStdout: (_d, e) => {
        id = e.execution_id;
        controller.abort();
      },
    });
    await expect(call).rejects.toMatchObject({ name: "AbortError" });
    if (!id) throw new Error("no execution id");
    expect((await thread.executions.get(id)).status).toBe("running");
    expect(await thread.executions.cancel(id)).toBe(true);
    expect(await waitFor(async () => (await thread.executions.get(id as string)).status === "cancelled", 20_000)).toBe(true);
  });

  it("delete removes the thread; a later call creates a fresh one", async () => {
    const thread = tb.thread(uniqueId("del"));
    await thread.files.write("keep.txt", "x");
    expect(await thread.delete()).toEqual({ id: thread.id, deleted: true });
    await expect(thread.delete()).rejects.toMatchObject({ code: "THREAD_NOT_FOUND" });
    expect((await thread.files.list()).entries.map((e) => e.name)).not.toContain("keep.txt");
  });
});

describe("tokens", () => {
  it("a minted token reaches its thread only, cannot create threads or mint, and stops working when revoked", async () => {
    const thread = tb.thread(uniqueId("tok"));
    const minted = await tb.tokens.mint(thread, 600);
    expect(minted).toMatchObject({ thread: thread.id, can_delete: false });
    const browser = cs.client({ token: minted.token });
    expect((await browser.thread(thread.id).exec("echo from-browser")).stdout).toBe("from-browser\n");
    await expect(browser.thread(uniqueId("other")).exec("echo")).rejects.toMatchObject({ code: "THREAD_NOT_FOUND", status: 404 });
    await expect(browser.createThread()).rejects.toMatchObject({ code: "FORBIDDEN", status: 403 });
    await expect(browser.tokens.mint(thread.id)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(browser.thread(thread.id).delete()).rejects.toMatchObject({ code: "FORBIDDEN" });

    const deleter = cs.client({ token: (await tb.tokens.mint(thread.id, 600, { canDelete: true })).token });
    await tb.tokens.revoke(thread);
    await expect(browser.thread(thread.id).state()).rejects.toMatchObject({ code: "UNAUTHORIZED", status: 401 });
    await expect(deleter.thread(thread.id).state()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("can_delete tokens may delete their thread; revokeAll ends every token of the tenant", async () => {
    const a = tb.thread(uniqueId("tok-a"));
    const { token } = await tb.tokens.mint(a, 600, { canDelete: true });
    expect(await cs.client({ token }).thread(a.id).delete()).toEqual({ id: a.id, deleted: true });

    const b = tb.thread(uniqueId("tok-b"));
    const other = cs.client({ token: (await tb.tokens.mint(b, 600)).token });
    expect((await other.thread(b.id).state()).id).toBe(b.id);
    await tb.tokens.revokeAll();
    await expect(other.thread(b.id).state()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("another tenant's key sees the thread as missing; a wrong key is UNAUTHORIZED", async () => {
    const thread = tb.thread(uniqueId("tenant"));
    await thread.exec("true");
    const other = cs.client({ apiKey: cs.keys["sdk-other"] as string, autoCreate: false });
    await expect(other.thread(thread.id).state()).rejects.toMatchObject({ code: "THREAD_NOT_FOUND" });
    await expect(cs.client({ apiKey: "tbx_wrong" }).thread(thread.id).state()).rejects.toMatchObject({ code: "UNAUTHORIZED", status: 401 });
  });
});

describe("a stream cut mid-run is resumed transparently", () => {
  const LONG = "for i in $(seq 1 25); do echo line-$i; sleep 0.1; done";
  const expected = Array.from({ length: 25 }, (_, i) => `line-${i + 1}\n`).join("");

  it("cut mid-line, then reset, then ended early: every seq exactly once and the final result", async () => {
    const cuts = new Map<string, { afterLines: number; mode: "reset" | "end" | "mid-line" }>([
      ["POST", { afterLines: 4, mode: "mid-line" }],
      ["GET#1", { afterLines: 3, mode: "reset" }],
      ["GET#2", { afterLines: 2, mode: "end" }],
    ]);
    let gets = 0;
    proxy.plan = (method, path) => {
      if (method === "POST" && path.endsWith("/exec")) return cuts.get("POST");
      if (method === "GET" && path.includes("/events?after=")) return cuts.get(`GET#${++gets}`);
      return undefined;
    };
    const before = proxy.cuts;
    const thread = cs.client({ baseUrl: proxy.url }).thread(uniqueId("cut"));
    const stream = thread.exec(LONG, { stream: true });
    const events = await drain(stream);
    expect(proxy.cuts - before).toBe(3);
    expectWhole(events);
    expect(stdoutOf(events)).toBe(expected);
    const last = events.at(-1);
    if (last?.type !== "result" || last.result.kind !== "exec") throw new Error("no exec result");
    expect(last.result.value).toMatchObject({ exit_code: 0, stdout: expected, execution_id: stream.executionId });
    // Each resume asked for the events after the last whole one it had.
    const afters = proxy.seen.filter((s) => s.includes(`/executions/${stream.executionId}/events?after=`)).map((s) => Number(s.split("after=")[1]));
    expect(afters.length).toBeGreaterThanOrEqual(3);
    expect(afters.slice(0, 3)).toEqual([3, 6, 8]);
  });

  it("the result form sees each output once through the cuts too", async () => {
    let posts = 0;
    proxy.plan = (method, path) => (method === "POST" && path.endsWith("/exec") && ++posts === 1 ? { afterLines: 6, mode: "reset" } : undefined);
    const chunks: string[] = [];
    const result = await cs
      .client({ baseUrl: proxy.url })
      .thread(uniqueId("cut-result"))
      .exec(LONG, { onStdout: (d) => void chunks.push(d) });
    expect(chunks.join("")).toBe(expected);
    expect(result.stdout).toBe(expected);
  });
});
