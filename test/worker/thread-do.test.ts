import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ExecResult, type ExecutionRecord, RUNTIME_HEADER, type ThreadState, signRequest, threadRef } from "../../shared/src/index.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { WORKER_TEST_VARS } from "./bindings.ts";
import {
  SSE,
  api,
  createThread,
  exec,
  expectError,
  fakeRuntime,
  record,
  sseEvents,
  sseIterator,
  threadId,
} from "./thread-api.ts";

// The whole worker against the stand-in runtime of test/fake-runtime.ts; QUEUE_MAX is 1 and MAX_BODY_BYTES 4096 here.
const errorBody = async (res: Response) => {
  const { error } = (await res.json()) as { error: Record<string, unknown> };
  const { request_id: _, ...rest } = error;
  return { status: res.status, error: rest };
};

describe("threads", () => {
  it("creates a thread once, with the runtime's workspace; a second create is 409 THREAD_EXISTS", async () => {
    const id = threadId("create");
    const res = await api("/v1/threads", { method: "POST", body: { id } });
    expect(res.status).toBe(201);
    const state = (await res.json()) as ThreadState;
    expect(state).toMatchObject({ id, workspace: { configured: true }, counts: { executions: 0, running: 0, queued: 0 } });
    expect(await fakeRuntime.calls(`/threads/acme/${id}`)).toEqual([`POST /threads/acme/${id}`]);
    await expectError(await api("/v1/threads", { method: "POST", body: { id } }), 409, "THREAD_EXISTS");
  });

  it("describes a thread with its execution counts", async () => {
    const id = await createThread("state");
    expect((await exec(id, "echo one")).status).toBe(200);
    expect((await exec(id, "no-such-command")).status).toBe(200);
    const res = await api(`/v1/threads/${id}`);
    const state = (await res.json()) as ThreadState;
    expect(state).toMatchObject({ id, workspace: { configured: true }, counts: { executions: 2, running: 0, queued: 0 } });
    expect(Date.parse(state.last_active_at)).toBeGreaterThanOrEqual(Date.parse(state.created_at));
  });

  it("answers another tenant's thread exactly as a missing one, and touches nothing of it", async () => {
    const id = await createThread("private");
    const missing = threadId("missing");
    for (const [path, method] of [["", "GET"], ["/executions", "GET"], ["/executions/ex_1/events", "GET"], ["/contexts", "GET"]] as const) {
      const theirs = await errorBody(await api(`/v1/threads/${id}${path}`, { tenant: "beta", method }));
      const none = await errorBody(await api(`/v1/threads/${missing}${path}`, { tenant: "beta", method }));
      expect(theirs).toEqual({ status: 404, error: { code: "THREAD_NOT_FOUND", message: expect.any(String) } });
      expect(theirs).toEqual(none);
    }
    // The same id is another tenant's own, separate thread: beta's execution creates and runs in beta's.
    expect((await exec(id, "echo intruder", { tenant: "beta" })).status).toBe(200);
    expect(((await (await api(`/v1/threads/${id}`)).json()) as ThreadState).counts.executions).toBe(0);
    expect(await fakeRuntime.calls(`/threads/acme/${id}/exec`)).toEqual([]);
    expect(await fakeRuntime.calls(`/threads/beta/${id}/exec`)).toEqual([`POST /threads/beta/${id}/exec`]);
  });
});

describe("executions", () => {
  it("answers exec as JSON with the runtime's result; failing user code is a result too", async () => {
    const id = await createThread("json");
    const res = await exec(id, "echo hello");
    expect(res.status).toBe(200);
    const result = (await res.json()) as ExecResult;
    expect(result).toMatchObject({ exit_code: 0, stdout: "hello\n", stderr: "", timed_out: false, canceled: false });
    expect(result.execution_id).toMatch(/^ex_[0-9a-f]{32}$/);

    const failed = await exec(id, "no-such-command");
    expect(failed.status).toBe(200);
    expect(await failed.json()).toMatchObject({ exit_code: 127, stderr: expect.stringContaining("command not found") });
  });

  it("streams SSE with `id:` = seq and `event:` = type, in order", async () => {
    const id = await createThread("sse");
    const res = await exec(id, "echo a; echo b", { accept: SSE });
    const executionId = res.headers.get("x-execution-id");
    const events = await sseEvents(res);
    expect(events.map((e) => [e.id, e.name])).toEqual([["0", "start"], ["1", "stdout"], ["2", "stdout"], ["3", "result"]]);
    for (const { id: sseId, event } of events) {
      expect(event).toMatchObject({ seq: Number(sseId), execution_id: executionId });
    }
    expect(events.at(-1)?.event).toMatchObject({ result: { kind: "exec", value: { exit_code: 0, stdout: "a\nb\n" } } });
  });

  it("lists history newest first with status, exit code, summary and output tails", async () => {
    const id = await createThread("history");
    const ids: string[] = [];
    for (const command of ["echo first", "no-such-command", "echo third\necho fourth"]) {
      ids.push(((await (await exec(id, command)).json()) as ExecResult).execution_id);
    }
    const list = (await (await api(`/v1/threads/${id}/executions`)).json()) as { executions: ExecutionRecord[] };
    expect(list.executions.map((e) => e.id)).toEqual([...ids].reverse());
    expect(list.executions.map((e) => [e.status, e.exit_code, e.summary, e.stdout_tail, e.stderr_tail])).toEqual([
      ["succeeded", 0, "echo third", "third\nfourth\n", ""],
      ["failed", 127, "no-such-command", "", "fake-runtime: no-such-command: command not found\n"],
      ["succeeded", 0, "echo first", "first\n", ""],
    ]);
    for (const e of list.executions) {
      expect(e).toMatchObject({ kind: "exec", error_code: null, started_at: expect.any(String), finished_at: expect.any(String) });
      expect(e.duration_ms).toBeGreaterThanOrEqual(0);
    }
    const limited = (await (await api(`/v1/threads/${id}/executions?limit=1`)).json()) as { executions: ExecutionRecord[] };
    expect(limited.executions.map((e) => e.id)).toEqual([ids[2]]);
    expect(await record(id, ids[0] ?? "")).toEqual(list.executions[2]);
  });

  it("resumes a finished execution after a seq, as JSON and as SSE", async () => {
    const id = await createThread("resume");
    const executionId = ((await (await exec(id, "echo a; echo b; echo c")).json()) as ExecResult).execution_id;
    const path = `/v1/threads/${id}/executions/${executionId}/events`;

    const json = (await (await api(`${path}?after=1`)).json()) as { execution_id: string; events: { seq: number; type: string }[] };
    expect(json.execution_id).toBe(executionId);
    expect(json.events.map((e) => [e.seq, e.type])).toEqual([[2, "stdout"], [3, "stdout"], [4, "result"]]);

    const sse = await sseEvents(await api(`${path}?after=1`, { accept: SSE }));
    expect(sse.map((e) => [e.id, e.event.seq])).toEqual([["2", 2], ["3", 3], ["4", 4]]);

    const all = (await (await api(path)).json()) as { events: unknown[] };
    expect(all.events).toHaveLength(5);
    await expectError(await api(`${path}?after=x`), 400, "VALIDATION_FAILED");
    await expectError(await api(`/v1/threads/${id}/executions/ex_nope/events`), 404, "EXECUTION_NOT_FOUND");
  });

  it("gives a reader who joins a running execution the stored events, then the live ones", async () => {
    const id = await createThread("live");
    const res = await exec(id, "echo a; sleep 1; echo b", { accept: SSE });
    const executionId = res.headers.get("x-execution-id");
    const original = sseIterator(res);
    const seen = await sseEvents(original, 2);
    expect(seen.map((e) => e.name)).toEqual(["start", "stdout"]);

    const joined = await sseEvents(await api(`/v1/threads/${id}/executions/${executionId}/events?after=0`, { accept: SSE }));
    expect(joined.map((e) => [e.id, e.name])).toEqual([["1", "stdout"], ["2", "stdout"], ["3", "result"]]);
    expect((await sseEvents(original)).map((e) => e.id)).toEqual(["2", "3"]);
  });

  it("never gives a live reader an event at or before its `after`", async () => {
    const id = await createThread("after");
    const res = await exec(id, "sleep 1; echo late; echo later", { accept: SSE });
    const original = sseIterator(res);
    expect((await sseEvents(original, 1)).map((e) => e.name)).toEqual(["start"]);

    // Joined while only seq 0 is stored: the events up to seq 2 still have to be skipped when they arrive live.
    const joined = await api(`/v1/threads/${id}/executions/${res.headers.get("x-execution-id")}/events?after=2`, { accept: SSE });
    expect((await sseEvents(joined)).map((e) => e.id)).toEqual(["3"]);
    await sseEvents(original);
  });
});

describe("the queue", () => {
  it("runs one execution at a time: one more waits, the next is 429 THREAD_BUSY with Retry-After", async () => {
    const id = await createThread("queue");
    const first = await exec(id, "sleep 1", { accept: SSE });
    const second = await exec(id, "echo queued", { accept: SSE });
    expect([first.status, second.status]).toEqual([200, 200]);
    const state = (await (await api(`/v1/threads/${id}`)).json()) as ThreadState;
    expect(state.counts).toEqual({ executions: 2, running: 1, queued: 1 });

    const busy = await exec(id, "echo too many");
    const retryAfter = Number(busy.headers.get("retry-after"));
    const { error } = await expectError(busy, 429, "THREAD_BUSY");
    expect(retryAfter).toBeGreaterThan(0);
    expect(error.details).toEqual({ retry_after: retryAfter });

    const [firstEvents, secondEvents] = await Promise.all([sseEvents(first), sseEvents(second)]);
    expect(firstEvents.at(-1)?.event).toMatchObject({ type: "result", result: { value: { exit_code: 0 } } });
    expect(secondEvents.at(-1)?.event).toMatchObject({ type: "result", result: { value: { stdout: "queued\n" } } });
    const [a, b] = await Promise.all([
      record(id, first.headers.get("x-execution-id") ?? ""),
      record(id, second.headers.get("x-execution-id") ?? ""),
    ]);
    expect(Date.parse(b.started_at ?? "")).toBeGreaterThanOrEqual(Date.parse(a.finished_at ?? ""));
    expect((await exec(id, "echo free again")).status).toBe(200);
  });

  it("cancels a queued execution at once, and a running one through the runtime", async () => {
    const id = await createThread("cancel");
    const started = Date.now();
    const running = await exec(id, "sleep 5", { accept: SSE });
    const queued = await exec(id, "echo never", { accept: SSE });
    const [runningId, queuedId] = [running.headers.get("x-execution-id") ?? "", queued.headers.get("x-execution-id") ?? ""];
    const cancel = (executionId: string) => api(`/v1/threads/${id}/executions/${executionId}/cancel`, { method: "POST" });

    expect(await (await cancel(queuedId)).json()).toEqual({ execution_id: queuedId, cancelled: true });
    const queuedEvents = await sseEvents(queued);
    expect(queuedEvents.map((e) => e.event)).toEqual([
      expect.objectContaining({ seq: 0, type: "error", code: "EXECUTION_CANCELLED" }),
    ]);
    expect(await record(id, queuedId)).toMatchObject({ status: "cancelled", error_code: "EXECUTION_CANCELLED", started_at: null });

    expect(await (await cancel(runningId)).json()).toEqual({ execution_id: runningId, cancelled: true });
    expect((await sseEvents(running)).at(-1)?.event).toMatchObject({ type: "result", result: { value: { canceled: true } } });
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await record(id, runningId)).toMatchObject({ status: "cancelled", exit_code: 137 });
    expect(await fakeRuntime.calls(`/executions/${runningId}/cancel`)).toEqual([`POST /executions/${runningId}/cancel`]);
    expect(await fakeRuntime.calls(`/threads/acme/${id}/exec`)).toHaveLength(1);
    expect(await (await cancel(runningId)).json()).toEqual({ execution_id: runningId, cancelled: false });
  });
});

describe("a failing runtime", () => {
  it("lost mid-stream: the stream ends with RUNTIME_UNAVAILABLE and the record is an error", async () => {
    const id = await createThread("crash");
    const res = await exec(id, "echo before; die", { accept: SSE });
    const events = await sseEvents(res);
    expect(events.map((e) => [e.id, e.name])).toEqual([["0", "start"], ["1", "stdout"], ["2", "error"]]);
    expect(events[2]?.event).toMatchObject({ code: "RUNTIME_UNAVAILABLE" });
    const rec = await record(id, res.headers.get("x-execution-id") ?? "");
    expect(rec).toMatchObject({ status: "error", error_code: "RUNTIME_UNAVAILABLE", stdout_tail: "before\n", last_seq: 2 });

    await expectError(await exec(id, "die"), 503, "RUNTIME_UNAVAILABLE");
    expect((await exec(id, "echo still here")).status).toBe(200);
  });

  it("down: exec is 503 RUNTIME_UNAVAILABLE, and works again once the runtime is back", async () => {
    const id = threadId("down");
    await fakeRuntime.outage("acme", id, true);
    const created = await api("/v1/threads", { method: "POST", body: { id } });
    expect(created.status).toBe(201);
    expect(((await created.json()) as ThreadState).workspace).toBeNull();

    await expectError(await exec(id, "echo lost"), 503, "RUNTIME_UNAVAILABLE");
    const [failed] = ((await (await api(`/v1/threads/${id}/executions`)).json()) as { executions: ExecutionRecord[] }).executions;
    expect(failed).toMatchObject({ status: "error", error_code: "RUNTIME_UNAVAILABLE" });

    await fakeRuntime.outage("acme", id, false);
    expect(await (await exec(id, "echo back")).json()).toMatchObject({ exit_code: 0, stdout: "back\n" });
  });

  it("(the stand-in) refuses requests without the worker's signature for it", async () => {
    const url = `${WORKER_TEST_VARS.RUNTIME_URL}/health`;
    expect((await fetch(url)).status).toBe(401);
    const forged = await signRequest("not-the-hmac-secret-of-these-tests", { method: "GET", path: "/health" });
    expect((await fetch(url, { headers: forged })).status).toBe(401);
    // Signed, but not for this runtime (or for none): refused, as a runtime with RUNTIME_ID does.
    for (const named of [{}, { [RUNTIME_HEADER]: "http://another-runtime.test" }] as Record<string, string>[]) {
      const headers = { ...named, ...(await signRequest(env.HMAC_SECRET, { method: "GET", path: "/health", headers: named })) };
      expect((await fetch(url, { headers })).status).toBe(401);
    }
    const named = { [RUNTIME_HEADER]: WORKER_TEST_VARS.RUNTIME_URL };
    const signed = await signRequest(env.HMAC_SECRET, { method: "GET", path: "/health", headers: named });
    expect((await fetch(url, { headers: { ...named, ...signed } })).status).toBe(200);
  });
});

describe("validation", () => {
  it("refuses invalid JSON, an out-of-range timeout and an oversized body before queueing anything", async () => {
    const id = await createThread("invalid");
    const post = (body: unknown) => api(`/v1/threads/${id}/exec`, { method: "POST", body });
    await expectError(await post("{command:"), 400, "INVALID_JSON");
    const { error } = await expectError(await post({ command: "echo x", timeout: 301 }), 400, "VALIDATION_FAILED");
    expect(error.message).toContain("timeout");
    await expectError(await post({ command: "echo x", extra: true }), 400, "VALIDATION_FAILED");
    await expectError(await post({ command: `echo ${"x".repeat(Number(WORKER_TEST_VARS.MAX_BODY_BYTES))}` }), 413, "PAYLOAD_TOO_LARGE");

    const state = (await (await api(`/v1/threads/${id}`)).json()) as ThreadState;
    expect(state.counts.executions).toBe(0);
    expect(await fakeRuntime.calls(`/threads/acme/${id}/exec`)).toEqual([]);
  });
});

describe("the idle alarm", () => {
  const alarmOf = (id: string) => runInDurableObject(threadStub(env, threadRef("acme", id)), (_, state) => state.storage.getAlarm());

  it("is set after an execution, and asks the runtime to release the thread", async () => {
    const id = await createThread("idle");
    expect(await alarmOf(id)).toBeNull();
    expect((await exec(id, "echo work")).status).toBe(200);
    const idleMs = Number(env.IDLE_TIMEOUT_SECONDS) * 1000;
    expect(await alarmOf(id)).toBeGreaterThan(Date.now() + idleMs - 60_000);

    expect(await runDurableObjectAlarm(threadStub(env, threadRef("acme", id)))).toBe(true);
    expect(await fakeRuntime.calls(`/threads/acme/${id}/release`)).toEqual([`POST /threads/acme/${id}/release`]);
    expect(await alarmOf(id)).toBeNull();
  });

  it("releases nothing while an execution runs, and is set again once the thread is idle", async () => {
    const id = await createThread("busy");
    const stub = threadStub(env, threadRef("acme", id));
    const res = await exec(id, "sleep 1", { accept: SSE });
    await runInDurableObject(stub, (_, state) => state.storage.setAlarm(Date.now() + 60_000));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await fakeRuntime.calls(`/threads/acme/${id}/release`)).toEqual([]);

    await sseEvents(res);
    expect(await alarmOf(id)).not.toBeNull();
  });
});
