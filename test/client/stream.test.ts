import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Threadbox, ThreadboxError } from "../../client/src/index.ts";
import type { ExecutionEvent } from "../../shared/src/index.ts";
import { type ScriptedServer, execEvents, json, ndjson, startScriptedServer } from "./scripted-server.ts";

// Execution streams against a scripted loopback server: resume after a cut connection, a cut line or a missing terminal
// event, giving up, aborting, and terminal errors.

let server: ScriptedServer;
let tb: Threadbox;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(() => {
  server.requests.length = 0;
  tb = new Threadbox({ baseUrl: server.url, apiKey: "tbx_test", resume: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 3 } });
});

async function drain(stream: AsyncIterable<ExecutionEvent>): Promise<ExecutionEvent[]> {
  const out: ExecutionEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

const resumeAfter = (url: string) => Number(new URL(url, "http://x").searchParams.get("after"));

describe("resuming a dropped stream", () => {
  it("a connection reset after the first events: resumed from the last seq, every event exactly once", async () => {
    const all = execEvents(6);
    server.script(ndjson(all.slice(0, 3), "cut"), ndjson(all.slice(3)));
    const stream = tb.thread("t").exec("x", { stream: true });
    const events = await drain(stream);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(stream.executionId).toBe("ex_test");
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /v1/threads/t/exec",
      "GET /v1/threads/t/executions/ex_test/events?after=2",
    ]);
    expect(server.requests[1]?.headers.accept).toContain("application/x-ndjson");
  });

  it("a line cut in half is dropped and asked for again, and replayed events are not yielded twice", async () => {
    const all = execEvents(5);
    // The resume answers from seq 1 (overlapping what was seen): the client skips what it already yielded.
    server.script(ndjson(all.slice(0, 3), "cut-mid-line", all[3]), ndjson(all.slice(1)));
    const seqs: number[] = [];
    const result = await tb.thread("t").exec("x", { onEvent: (e) => void seqs.push(e.seq) });
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(result.stdout).toBe("line 1\nline 2\nline 3\nline 4\nline 5\n");
    expect(resumeAfter(server.requests[1]?.url ?? "")).toBe(2);
  });

  it("a clean end without a terminal event is resumed too; callbacks see each output once", async () => {
    const all = execEvents(4);
    server.script(ndjson(all.slice(0, 2), "end"), ndjson(all.slice(2, 4), "end"), ndjson(all.slice(4)));
    const seen: string[] = [];
    const result = await tb.thread("t").exec("x", { onStdout: (d) => void seen.push(d) });
    expect(seen).toEqual(["line 1\n", "line 2\n", "line 3\n", "line 4\n"]);
    expect(result.exit_code).toBe(0);
    expect(server.requests.map((r) => resumeAfter(r.url))).toEqual([0, 1, 3]);
  });

  it("gives up after maxRetries attempts without progress: STREAM_INTERRUPTED with the last seq", async () => {
    const all = execEvents(3);
    server.script(ndjson(all.slice(0, 2), "cut"), json(503, { error: { code: "RUNTIME_UNAVAILABLE", message: "down" } }));
    const err = await tb
      .thread("t")
      .exec("x")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThreadboxError);
    expect(err).toMatchObject({ code: "STREAM_INTERRUPTED", details: { execution_id: "ex_test", last_seq: 1 } });
    // 1 POST, then 3 resume attempts, each a GET retried twice by the HTTP layer (503 on a read).
    expect(server.requests.filter((r) => r.method === "GET")).toHaveLength(9);
  });

  it("an aborted signal stops reading at once and sends nothing more", async () => {
    const all = execEvents(3);
    server.script(ndjson(all.slice(0, 2), "cut"), ndjson(all.slice(2)));
    const controller = new AbortController();
    const stream = tb.thread("t").exec("x", { stream: true, signal: controller.signal });
    const seen: number[] = [];
    const err = await (async () => {
      for await (const e of stream) {
        seen.push(e.seq);
        controller.abort();
      }
    })().catch((e: unknown) => e);
    expect((err as Error).name).toBe("AbortError");
    expect(seen).toEqual([0]);
    expect(server.requests).toHaveLength(1);
  });

  it("the first request is never sent twice: a failed start is the caller's error", async () => {
    server.script((_req, res) => void res.socket?.destroy());
    const err = await tb
      .thread("t")
      .exec("x")
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "NETWORK_ERROR", status: 0 });
    expect(server.requests).toHaveLength(1);
  });
});

describe("terminal errors", () => {
  const errorEvent: ExecutionEvent = { seq: 1, execution_id: "ex_e", type: "error", code: "RUNTIME_UNAVAILABLE", message: "runtime lost" };
  const start = execEvents(0, "ex_e")[0] as ExecutionEvent;

  it("streaming yields the error event; the result form throws it as a ThreadboxError with its status", async () => {
    server.script(ndjson([start, errorEvent]));
    const events = await drain(tb.thread("t").exec("x", { stream: true }));
    expect(events.at(-1)).toEqual(errorEvent);

    server.script(ndjson([start, errorEvent]));
    const err = await tb
      .thread("t")
      .exec("x")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThreadboxError);
    expect(err).toMatchObject({ code: "RUNTIME_UNAVAILABLE", status: 503, message: "runtime lost" });
  });

  it("a result of another kind than the call promises is INVALID_RESPONSE", async () => {
    server.script(ndjson(execEvents(1)));
    await expect(tb.thread("t").runPython("print(1)")).rejects.toMatchObject({ code: "INVALID_RESPONSE" });
  });

  it("an execution's events can be read again from a seq, and resumed the same way", async () => {
    const all = execEvents(4, "ex_old");
    server.script(ndjson(all.slice(3, 4), "cut"), ndjson(all.slice(4)));
    const events = await drain(tb.thread("t").executions.events("ex_old", { after: 2 }));
    expect(events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(server.requests.map((r) => resumeAfter(r.url))).toEqual([2, 3]);
  });
});
