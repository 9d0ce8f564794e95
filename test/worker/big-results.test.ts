import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  type ExecResult,
  type ExecutionEvent,
  type ExecutionRecord,
  parseEvent,
  parseNdjsonStream,
  sha256Hex, threadRef } from "../../shared/src/index.ts";
import { app } from "../../worker/src/app.ts";
import { Executor } from "../../worker/src/do/executor.ts";
import { LiveEvents } from "../../worker/src/do/live.ts";
import { ThreadPlacement } from "../../worker/src/do/placement.ts";
import { PRODUCTION_ROW_BYTES, RowLimitedSql } from "../../worker/src/do/row-limit.ts";
import { ThreadStore } from "../../worker/src/do/store.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { runtimeClient } from "../../worker/src/runtime/client.ts";
import { RuntimeHealth } from "../../worker/src/runtime/health.ts";
import { TEST_KEYS, WORKER_TEST_VARS } from "./bindings.ts";
import { SSE, api, createThread, record, sseEvents } from "./thread-api.ts";

// Results are never lost to the Durable Object's storage: every size the schemas accept is stored in rows under
// Cloudflare's 2 MB limit, which the store enforces here as in production (do/row-limit.ts). The stand-in runtime
// (test/fake-exec.ts) makes the big outputs: `ctrl N` control characters, `shot N K` screenshots, `stdin` a digest.

/** The app with bodies up to the default 32 MiB (the other worker tests cap them at 4 KiB). */
const bigBodies = { ...env, MAX_BODY_BYTES: String(32 * 2 ** 20) };

function post(path: string, body: unknown, accept?: string): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${TEST_KEYS.acme}`, "content-type": "application/json" };
  if (accept) headers.accept = accept;
  return Promise.resolve(app.request(path, { method: "POST", headers, body: JSON.stringify(body) }, bigBodies));
}

async function storedEvents(thread: string, id: string, after = -1): Promise<ExecutionEvent[]> {
  const res = await api(`/v1/threads/${thread}/executions/${id}/events?after=${after}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: ExecutionEvent[] }).events;
}

const CONTROL = /^[\x01-\x08\x0b\x0c\x0e-\x1f]+$/;

describe("the store refuses what production refuses", () => {
  it("throws for a row over the 2 MB limit, in every environment (workerd's local SQLite would take it)", async () => {
    await runInDurableObject(threadStub(env, threadRef("acme", "row-limit")), (_, state) => {
      state.storage.sql.exec("CREATE TABLE IF NOT EXISTS probe (v)");
      const sql = new RowLimitedSql(state.storage.sql);
      sql.exec("INSERT INTO probe VALUES (?)", "x".repeat(PRODUCTION_ROW_BYTES));
      expect(() => sql.exec("INSERT INTO probe VALUES (?)", "x".repeat(PRODUCTION_ROW_BYTES + 1))).toThrow(/row limit/);
      // Measured in UTF-8 bytes, as stored: 700,000 three-byte characters are 2.1 MB.
      expect(() => sql.exec("INSERT INTO probe VALUES (?)", "€".repeat(700_000))).toThrow(/row limit/);
      expect(() => sql.exec("INSERT INTO probe VALUES (?, ?)", "x".repeat(1_000_001), "x".repeat(1_000_000))).toThrow(/row limit/);
      expect(() => sql.exec("INSERT INTO probe VALUES (?)", new ArrayBuffer(PRODUCTION_ROW_BYTES + 1))).toThrow(/row limit/);
      // The thread's store writes through it.
      const store = new ThreadStore(state.storage.sql);
      store.createThread({
        id: "row-limit", tenant: "acme", created_at: "", last_active_at: "", runtime_url: "", placed_at: "", network: "default",
        incarnation: "0123456789abcdef0123456789abcdef", token_generation: 0, import_policy: null,
      });
      const request = JSON.stringify({ stdin: "\u0001".repeat(5_000_000) });
      store.insertExecution({ id: "ex_big", kind: "exec", summary: "", request, created_at: "2026-01-01T00:00:00.000Z" });
      expect(store.request("ex_big")).toBe(request);
    });
  });
});

describe("big results", () => {
  // Generous bounds: megabytes through workerd, on two shared cores.
  it("keeps a result of 1 MB of control characters (6 MB as JSON): answered, recorded, resumable", { timeout: 60_000 }, async () => {
    const thread = await createThread("ctrl");
    const res = await post(`/v1/threads/${thread}/exec`, { command: "ctrl 1048576; echo done" });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(200);
    const result = JSON.parse(text) as ExecResult;
    expect(result.exit_code).toBe(0);
    expect(result.stdout).toHaveLength(1_048_576 + "done\n".length);
    expect(CONTROL.test(result.stdout.slice(0, -5))).toBe(true);

    // Succeeded, not RUNTIME_UNAVAILABLE. The stdout events (6 MB as JSON) overflow the log's 4 MiB bound, so the
    // log says it was truncated; the result is kept whole whatever its size.
    const rec: ExecutionRecord = await record(thread, result.execution_id);
    expect(rec).toMatchObject({ status: "succeeded", error_code: null, exit_code: 0, events_truncated: true });
    expect(rec.stdout_tail.endsWith("done\n")).toBe(true);

    // The stored log: the stdout events that fit, each as it came (the stand-in sends 64 KiB a piece, seq 1, 2, ...),
    // then the result, whole; resumed from the middle it is the same events.
    const events = await storedEvents(thread, result.execution_id);
    const last = events.at(-1);
    expect(last?.type === "result" && last.result.kind === "exec" && last.result.value.stdout).toBe(result.stdout);
    const stdout = events.flatMap((e) => (e.type === "stdout" ? [e] : []));
    expect(stdout.length).toBeGreaterThan(8);
    for (const e of stdout) expect(result.stdout.slice((e.seq - 1) * 65_536, (e.seq - 1) * 65_536 + e.data.length)).toBe(e.data);
    const middle = events[Math.floor(events.length / 2)]?.seq ?? 0;
    const resumed = await sseEvents(await api(`/v1/threads/${thread}/executions/${result.execution_id}/events?after=${middle}`, { accept: SSE }));
    expect(resumed.map((m) => m.event)).toEqual(events.filter((e) => e.seq > middle));
    expect(resumed.map((m) => m.id)).toEqual(events.filter((e) => e.seq > middle).map((e) => String(e.seq)));
  });

  it("runs a 9 MB stdin (surrogate pairs and all) as sent, and keeps the record", { timeout: 60_000 }, async () => {
    const thread = await createThread("stdin");
    // 3 UTF-16 units a repeat, so the store's 256 Ki-unit pieces fall inside surrogate pairs unless it avoids them.
    const stdin = "x😀".repeat(3_000_000);
    expect(stdin.length).toBe(9_000_000);
    const res = await post(`/v1/threads/${thread}/exec`, { command: "stdin", stdin });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(200);
    const result = JSON.parse(text) as ExecResult;
    expect(result.stdout).toBe(`stdin ${stdin.length} ${await sha256Hex(stdin)}\n`);
    expect(await record(thread, result.execution_id)).toMatchObject({ status: "succeeded", summary: "stdin" });
  });

  it("keeps a result with megabytes of screenshots, streamed and resumed", { timeout: 60_000 }, async () => {
    const thread = await createThread("shots");
    const res = await post(`/v1/threads/${thread}/exec`, { command: "shot 3 1000000" }, "application/x-ndjson");
    expect(res.status).toBe(200);
    const live: ExecutionEvent[] = [];
    if (!res.body) throw new Error("no body");
    for await (const value of parseNdjsonStream(res.body)) live.push(parseEvent(value));
    const displays = live.filter((e) => e.type === "display");
    expect(displays.map((d) => (d.type === "display" ? d.data.length : 0))).toEqual([1_000_000, 1_000_000, 1_000_000]);
    const last = live.at(-1);
    if (last?.type !== "result" || last.result.kind !== "exec") throw new Error(`ended with ${last?.type}`);
    expect(last.result.value.displays?.map((d) => d.data)).toEqual(displays.map((d) => (d.type === "display" ? d.data : "")));

    const id = last.execution_id;
    expect(await storedEvents(thread, id)).toEqual(live);
    const afterFirst = live.find((e) => e.type === "display")?.seq ?? 0;
    expect(await storedEvents(thread, id, afterFirst)).toEqual(live.filter((e) => e.seq > afterFirst));
    expect(await record(thread, id)).toMatchObject({ status: "succeeded", events_truncated: false });
  });
});

describe("a storage failure in the thread's object", () => {
  it("is not the runtime's: the run's result still reaches its reader, the runtime is not suspected", async () => {
    const thread = await createThread("unstored");
    await runInDurableObject(threadStub(env, threadRef("acme", thread)), async (_, state) => {
      // A store that cannot keep results (what a row over the limit did before results were stored in pieces).
      class FullStore extends ThreadStore {
        override appendEvent(event: ExecutionEvent, terminal: boolean, outcome?: Parameters<ThreadStore["appendEvent"]>[2]): void {
          if (event.type === "result") throw new Error("string or blob too big: SQLITE_TOOBIG");
          super.appendEvent(event, terminal, outcome);
        }
      }
      const store = new FullStore(state.storage.sql);
      const row = store.thread();
      if (!row) throw new Error("no thread row");
      const health = new RuntimeHealth();
      const client = runtimeClient(env);
      const placement = new ThreadPlacement(store, client, [WORKER_TEST_VARS.RUNTIME_URL], health);
      const executor = new Executor(store, new LiveEvents(), placement, client, 1, () => undefined);
      const events = executor.submit(row, { kind: "exec", body: { command: "echo ran" }, summary: "echo ran", executionId: "ex_unstored" });
      const live: ExecutionEvent[] = [];
      for await (const event of events) live.push(event);

      const last = live.at(-1);
      expect(last?.type === "result" && last.result.kind === "exec" && last.result.value.stdout).toBe("ran\n");
      expect(health.status(WORKER_TEST_VARS.RUNTIME_URL).state).toBe("up");
      // The record says what happened: the run finished, its result could not be kept. Not RUNTIME_UNAVAILABLE.
      expect(store.execution("ex_unstored")).toMatchObject({ status: "error", error_code: "INTERNAL_ERROR" });
      const stored = store.eventsAfter("ex_unstored", -1).at(-1);
      expect(stored).toMatchObject({ type: "error", code: "INTERNAL_ERROR", message: expect.stringContaining("the run finished") });
    });
  });
});
