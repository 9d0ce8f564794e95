import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ExecutionRecord, type ProcessInfo, type ThreadState, newTerminalId, threadRef } from "../../shared/src/index.ts";
import { ThreadDO } from "../../worker/src/do/thread-do.ts";
import { unwrap } from "../../worker/src/do/rpc.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { api, createThread, exec, expectError, fakeRuntime, record } from "./thread-api.ts";

// The execution history shows background processes and terminals (kinds `process`, `terminal`) next to executions,
// without queueing them: they never block an execution, nor are they recovered as interrupted ones.
const history = async (thread: string) =>
  ((await (await api(`/v1/threads/${thread}/executions?limit=50`)).json()) as { executions: ExecutionRecord[] }).executions;
const state = async (thread: string) => (await (await api(`/v1/threads/${thread}`)).json()) as ThreadState;
const startProcess = async (thread: string) => {
  const res = await api(`/v1/threads/${thread}/processes`, { method: "POST", body: { command: "sleep 1000", name: "nap" } });
  expect(res.status).toBe(201);
  return (await res.json()) as ProcessInfo;
};

describe("processes and terminals in the execution history", () => {
  it("records a process's start and end as a `process` record; executions run beside it", async () => {
    const id = await createThread("hist-proc");
    const p = await startProcess(id);
    const running = await record(id, p.id);
    expect(running).toMatchObject({ kind: "process", status: "running", summary: "nap: sleep 1000", exit_code: null, finished_at: null, started_at: p.started_at });
    // Not queued: an execution runs at once, and the counts are the executions' own.
    expect((await exec(id, "echo hi")).status).toBe(200);
    expect((await state(id)).counts).toEqual({ executions: 1, running: 0, queued: 0 });
    expect((await history(id)).map((r) => r.kind)).toEqual(["exec", "process"]);

    await api(`/v1/threads/${id}/processes/${p.id}`, { method: "DELETE" });
    const ended = await record(id, p.id);
    expect(ended).toMatchObject({ kind: "process", status: "killed", exit_code: 143, error_code: "stopped" });
    expect(ended.finished_at).not.toBeNull();
    expect(ended.duration_ms).toBeGreaterThanOrEqual(0);
    expect((await history(id)).find((r) => r.id === p.id)).toEqual(ended);
    // It has no events here, and cannot be cancelled as an execution.
    const events = await expectError(await api(`/v1/threads/${id}/executions/${p.id}/events`), 404, "EXECUTION_NOT_FOUND");
    expect(events.error.message).toContain(`/processes/${p.id}/logs`);
    await expectError(await api(`/v1/threads/${id}/executions/${p.id}/cancel`, { method: "POST" }), 404, "EXECUTION_NOT_FOUND");
  });

  it("shows a process its runtime forgot as lost, and a restarted object does not end a running process", async () => {
    const id = await createThread("hist-lost");
    const stub = threadStub(env, threadRef("acme", id));
    const p = await startProcess(id);
    // A new instance of the thread's object runs recover(): executions left running end, processes are not touched.
    await runInDurableObject(stub, (_, ctx) => void new ThreadDO(ctx, env));
    expect(await record(id, p.id)).toMatchObject({ status: "running", error_code: null });
    await fakeRuntime.restart("acme", id);
    expect((await history(id)).find((r) => r.id === p.id)).toMatchObject({ kind: "process", status: "lost", error_code: "runtime_restart" });
  });

  it("records a terminal's open, and its end as the runtime reports it; the thread's state lists it while open", async () => {
    const id = await createThread("hist-term");
    const stub = threadStub(env, threadRef("acme", id));
    // What the terminal route does once the runtime accepted the upgrade of the terminal it named.
    const term = newTerminalId();
    const { started_at } = unwrap(await stub.terminalOpened(null, term));
    await fakeRuntime.terminals("acme", id, [{ id: term, ended_at: null }]);
    expect((await state(id)).open_terminals).toEqual([{ id: term, started_at }]);
    expect(await history(id)).toEqual([expect.objectContaining({ id: term, kind: "terminal", status: "running", started_at, finished_at: null })]);
    // The runtime saw it end: the next read of the history records when.
    const ended_at = new Date(Date.parse(started_at) + 1500).toISOString();
    await fakeRuntime.terminals("acme", id, [{ id: term, ended_at }]);
    const closed = await record(id, term);
    expect(closed).toMatchObject({ kind: "terminal", status: "closed", summary: "terminal", exit_code: null, finished_at: ended_at, duration_ms: 1500 });
    expect((await state(id)).open_terminals).toBeUndefined();
    expect((await history(id)).find((r) => r.id === term)).toEqual(closed);
    // Once ended it stays so, whatever the runtime says later.
    await fakeRuntime.terminals("acme", id, []);
    expect(await record(id, term)).toEqual(closed);
  });

  it("marks a terminal lost when its runtime no longer knows it (a restart)", async () => {
    const id = await createThread("hist-term-lost");
    const stub = threadStub(env, threadRef("acme", id));
    const term = newTerminalId();
    unwrap(await stub.terminalOpened(null, term));
    await fakeRuntime.terminals("acme", id, [{ id: term, ended_at: null }]);
    expect((await state(id)).open_terminals?.map((t) => t.id)).toEqual([term]);
    await fakeRuntime.terminals("acme", id, []);
    expect((await history(id)).map((r) => [r.id, r.status])).toEqual([[term, "lost"]]);
    expect((await record(id, term)).finished_at).not.toBeNull();
  });

  it("answers another tenant's thread as a missing one", async () => {
    const id = await createThread("hist-tenant");
    const p = await startProcess(id);
    await expectError(await api(`/v1/threads/${id}/executions/${p.id}`, { tenant: "beta" }), 404, "THREAD_NOT_FOUND");
  });
});
