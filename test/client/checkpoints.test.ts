import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ExecutionEvent } from "../../shared/src/index.ts";
import { Threadbox } from "../../client/src/index.ts";
import { type ScriptedServer, json, ndjson, startScriptedServer } from "./scripted-server.ts";

// The SDK's checkpoints (thread.checkpoints.create/list/delete/restore) and forks (tb.threads.create({from})) against a
// scripted loopback server: the paths, bodies and typed results.

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(() => {
  server.requests.length = 0;
});

const tb = () => new Threadbox({ baseUrl: server.url, apiKey: "tbx_key" });
const CK = `ck_${"b".repeat(24)}`;
const checkpoint = { id: CK, label: "l", created_at: "2024-01-01T00:00:00.000Z", size_bytes: 3, files: 1, skipped: [] };
const resultEvents = (result: Extract<ExecutionEvent, { type: "result" }>["result"]): ExecutionEvent[] => [
  { seq: 0, execution_id: "ex_1", type: "start", kind: "checkpoint", thread_id: "t", started_at: "2024-01-01T00:00:00.000Z" },
  { seq: 1, execution_id: "ex_1", type: "result", result },
];

describe("thread.checkpoints", () => {
  it("create posts the label and resolves to the checkpoint", async () => {
    server.script(ndjson(resultEvents({ kind: "checkpoint", value: checkpoint })));
    const cp = await tb().thread("t").checkpoints.create({ label: "l" });
    expect(cp).toEqual(checkpoint);
    expect(server.requests[0]).toMatchObject({ method: "POST", url: "/v1/threads/t/checkpoints" });
    expect(JSON.parse(server.requests[0]?.body ?? "")).toEqual({ label: "l" });
  });

  it("restore posts to the checkpoint's path and resolves to the restore result", async () => {
    server.script(ndjson(resultEvents({ kind: "restore", value: { checkpoint: CK, files: 1, venv_rebuilt: true } })));
    const r = await tb().thread("t").checkpoints.restore(CK);
    expect(r).toEqual({ checkpoint: CK, files: 1, venv_rebuilt: true });
    expect(server.requests[0]).toMatchObject({ method: "POST", url: `/v1/threads/t/checkpoints/${CK}/restore` });
  });

  it("list and delete", async () => {
    server.script(json(200, { checkpoints: [checkpoint], stored_bytes: 3, limits: { count: 20, bytes: 100 } }), json(200, { id: CK, deleted: true }));
    const list = await tb().thread("t").checkpoints.list();
    expect(list.checkpoints.map((c) => c.id)).toEqual([CK]);
    expect(await tb().thread("t").checkpoints.delete(CK)).toEqual({ id: CK, deleted: true });
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["GET /v1/threads/t/checkpoints", `DELETE /v1/threads/t/checkpoints/${CK}`]);
  });
});

describe("tb.threads.create({from})", () => {
  it("sends `from` and returns the new thread", async () => {
    const state = { id: "b", created_at: "x", last_active_at: "x", runtime: { index: 0, placed_at: "x" }, workspace: null, counts: { executions: 0, running: 0, queued: 0 } };
    server.script(json(201, state));
    const thread = await tb().threads.create({ id: "b", from: { thread: "a", checkpoint: CK } });
    expect(thread.id).toBe("b");
    expect(JSON.parse(server.requests[0]?.body ?? "")).toEqual({ id: "b", from: { thread: "a", checkpoint: CK } });
  });
});
