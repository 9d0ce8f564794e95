import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ProcessInfo, type ThreadState, threadRef } from "../../shared/src/index.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { api, createThread, expectError, fakeRuntime, threadId } from "./thread-api.ts";

// Background processes through the whole worker, against the stand-in's processes (test/fake-processes.ts).
const start = async (thread: string, body: Record<string, unknown> = { command: "sleep 1000" }) => {
  const res = await api(`/v1/threads/${thread}/processes`, { method: "POST", body });
  expect(res.status).toBe(201);
  return (await res.json()) as ProcessInfo;
};
const list = async (thread: string) => ((await (await api(`/v1/threads/${thread}/processes`)).json()) as { processes: ProcessInfo[] }).processes;

describe("background processes", () => {
  it("starts, lists, gets, feeds, streams and stops a process; the thread's state lists it", async () => {
    const id = await createThread("procs");
    const p = await start(id, { command: "python3 -m http.server", name: "web" });
    expect(p).toMatchObject({ status: "running", name: "web", command: "python3 -m http.server" });
    expect((await list(id)).map((x) => x.id)).toEqual([p.id]);
    const state = (await (await api(`/v1/threads/${id}`)).json()) as ThreadState;
    expect(state.processes?.map((x) => x.id)).toEqual([p.id]);
    expect(await (await api(`/v1/threads/${id}/processes/${p.id}`)).json()).toMatchObject({ id: p.id, status: "running" });
    const stdin = await api(`/v1/threads/${id}/processes/${p.id}/stdin`, { method: "POST", body: { data: "hi\n" } });
    expect(await stdin.json()).toEqual({ id: p.id, written: 3 });

    const logs = await api(`/v1/threads/${id}/processes/${p.id}/logs?after=0`, { accept: "application/x-ndjson" });
    expect(logs.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    const lines = (await logs.text()).trim().split("\n").map((l) => JSON.parse(l) as { type: string; seq?: number });
    expect(lines.map((l) => [l.type, l.seq])).toEqual([["log", 1], ["end", undefined]]);
    expect(await fakeRuntime.calls(`/processes/${p.id}/logs`)).toEqual([`GET /threads/acme/${id}/processes/${p.id}/logs?after=0&format=ndjson`]);

    const stopped = await api(`/v1/threads/${id}/processes/${p.id}`, { method: "DELETE" });
    expect(await stopped.json()).toMatchObject({ status: "killed", reason: "stopped", exit_code: 143 });
    expect(await list(id)).toEqual([expect.objectContaining({ id: p.id, status: "killed", reason: "stopped" })]);
  });

  it("records what a wait saw", async () => {
    const id = await createThread("wait");
    const p = await start(id);
    const res = await api(`/v1/threads/${id}/processes/${p.id}/wait`, { method: "POST", body: { log_pattern: "ready", timeout: 5 } });
    expect(await res.json()).toMatchObject({ outcome: "exited", process: { status: "exited", exit_code: 0 } });
    expect((await list(id))[0]).toMatchObject({ status: "exited", exit_code: 0 });
  });

  it("reports processes its runtime no longer knows as lost, never running", async () => {
    const id = await createThread("lost");
    const [a, b] = [await start(id), await start(id)];
    await fakeRuntime.restart("acme", id);
    const after = await list(id);
    expect(after.map((x) => [x.id, x.status, x.reason])).toEqual(
      expect.arrayContaining([[a.id, "lost", "runtime_restart"], [b.id, "lost", "runtime_restart"]]),
    );
    expect(await (await api(`/v1/threads/${id}/processes/${a.id}`)).json()).toMatchObject({ status: "lost" });
  });

  it("keeps an idle thread placed while a process runs, and releases it once none does", async () => {
    const id = await createThread("keep");
    const stub = threadStub(env, threadRef("acme", id));
    const p = await start(id);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await fakeRuntime.calls(`/threads/acme/${id}/release`)).toEqual([]);
    await api(`/v1/threads/${id}/processes/${p.id}`, { method: "DELETE" });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await fakeRuntime.calls(`/threads/acme/${id}/release`)).toEqual([`POST /threads/acme/${id}/release`]);
  });

  it("refuses bad ids and bodies, and answers another tenant's thread as a missing one", async () => {
    const id = await createThread("bad");
    await expectError(await api(`/v1/threads/${id}/processes/nope`), 400, "VALIDATION_FAILED");
    await expectError(await api(`/v1/threads/${id}/processes`, { method: "POST", body: { command: "" } }), 400, "VALIDATION_FAILED");
    const wait = { port: 80, log_pattern: "x", timeout: 1 };
    await expectError(await api(`/v1/threads/${id}/processes/proc_x/wait`, { method: "POST", body: wait }), 400, "VALIDATION_FAILED");
    await expectError(await api(`/v1/threads/${id}/processes/proc_unknown`), 404, "PROCESS_NOT_FOUND");
    await start(id);
    await expectError(await api(`/v1/threads/${id}/processes`, { tenant: "beta" }), 404, "THREAD_NOT_FOUND");
    await expectError(await api(`/v1/threads/${threadId("none")}/processes/proc_x`), 404, "THREAD_NOT_FOUND");
  });
});

describe("background processes over MCP", () => {
  it("start_process starts one (creating the thread); process_logs reads its output up to now and its status", async () => {
    const { mcpClient, call, textOf } = await import("./mcp-client.ts");
    const { TEST_KEYS } = await import("./bindings.ts");
    const client = await mcpClient(TEST_KEYS.acme);
    const sandbox = threadId("mcp-procs");
    const started = await call(client, "start_process", { sandbox_id: sandbox, command: "python3 -m http.server", name: "web" });
    const info = started.structuredContent as ProcessInfo;
    expect(info).toMatchObject({ status: "running", name: "web" });
    expect(textOf(started)).toContain(info.id);
    const logs = await call(client, "process_logs", { sandbox_id: sandbox, process_id: info.id });
    expect(logs.structuredContent).toMatchObject({ last_seq: 1, text: "one\ntwo\n", process: { id: info.id, status: "running" } });
    expect(textOf(logs)).toMatch(/^one\ntwo\n\nprocess proc_\w+: running; last_seq 1$/);
    const none = await call(client, "process_logs", { sandbox_id: sandbox, process_id: info.id, after: 1 });
    expect(none.structuredContent).toMatchObject({ last_seq: 1, text: "" });
    await client.close();
  });
});
