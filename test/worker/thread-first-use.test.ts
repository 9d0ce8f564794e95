import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ExecResult, type ThreadState, threadRef } from "../../shared/src/index.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { api, exec, expectError, fakeRuntime, threadId } from "./thread-api.ts";

// Threads created on first use: an API key's first execution, file write or new context on an unknown id creates the
// thread with default settings; reads of an unknown thread stay 404. The whole worker, the stand-in runtime.

const state = async (id: string, tenant: "acme" | "beta" = "acme") => (await (await api(`/v1/threads/${id}`, { tenant })).json()) as ThreadState;
const put = (id: string, path: string, body = "x") => api(`/v1/threads/${id}/files/${path}`, { method: "PUT", body });
const rows = (id: string, tenant = "acme") =>
  runInDurableObject(threadStub(env, threadRef(tenant, id)), (_, s) => s.storage.sql.exec("SELECT id, incarnation FROM thread").toArray());

describe("threads created on first use", () => {
  it("an execution on an unknown id creates the thread with default settings, and runs", async () => {
    const id = threadId("first-exec");
    const res = await exec(id, "echo hello");
    expect(res.status).toBe(200);
    expect(((await res.json()) as ExecResult).stdout).toBe("hello\n");
    // No set-up call ahead of the run: the runtime sets a workspace up on its first use.
    expect(await fakeRuntime.calls(`/threads/acme/${id}`)).toEqual([`POST /threads/acme/${id}/exec`]);
    expect(await state(id)).toMatchObject({ id, counts: { executions: 1 } });
    // It exists now: creating it is a conflict, as for any thread.
    await expectError(await api("/v1/threads", { method: "POST", body: { id } }), 409, "THREAD_EXISTS");
  });

  it("a file write creates it too; reads, deletes, cells and context restarts of an unknown thread are 404 and create nothing", async () => {
    const unknown = threadId("first-read");
    const reads: [string, string, unknown?][] = [
      ["GET", ""],
      ["GET", "/files/a.txt"],
      ["GET", "/files?path="],
      ["DELETE", "/files/a.txt"],
      ["GET", "/executions"],
      ["GET", "/executions/ex_1/events"],
      ["GET", "/contexts"],
      ["POST", "/contexts/ctx_abc/run", { code: "1" }],
      ["POST", "/contexts/ctx_abc/restart"],
      ["POST", "/tokens/revoke"],
      ["DELETE", ""],
    ];
    for (const [method, path, body] of reads) {
      await expectError(await api(`/v1/threads/${unknown}${path}`, { method, body }), 404, "THREAD_NOT_FOUND");
    }
    expect(await rows(unknown)).toEqual([]);
    expect(await fakeRuntime.calls(`/threads/acme/${unknown}`)).toEqual([]);

    const written = threadId("first-write");
    expect((await put(written, "notes/a.txt", "hi")).status).toBe(201);
    expect(await state(written)).toMatchObject({ id: written, counts: { executions: 0 } });
  });

  it("calls that arrive together create the thread once", async () => {
    const id = threadId("first-race");
    const answers = await Promise.all([put(id, "a.txt"), put(id, "b.txt"), exec(id, "echo one"), put(id, "c.txt")]);
    expect(answers.map((r) => r.status)).toEqual([201, 201, 200, 201]);
    expect(await rows(id)).toHaveLength(1);
  });

  it("a deleted thread's id can be used again: a new, empty thread that the old tokens do not reach", async () => {
    const id = threadId("first-again");
    expect((await exec(id, "echo one")).status).toBe(200);
    const minted = await api("/v1/tokens", { method: "POST", body: { thread: id } });
    const { token } = (await minted.json()) as { token: string };
    const [before] = await rows(id);
    expect((await api(`/v1/threads/${id}`, { method: "DELETE" })).status).toBe(200);

    expect((await exec(id, "echo two")).status).toBe(200);
    expect(await state(id)).toMatchObject({ counts: { executions: 1 } });
    const [after] = await rows(id);
    expect(after?.incarnation).not.toBe(before?.incarnation);
    const withToken = (method: string, path: string, body?: unknown) =>
      exports.default.fetch(`http://threadbox.test/v1/threads/${id}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    await expectError(await withToken("GET", "/executions"), 404, "THREAD_NOT_FOUND");
    await expectError(await withToken("POST", "/exec", { command: "echo stale" }), 404, "THREAD_NOT_FOUND");
    expect(await state(id)).toMatchObject({ counts: { executions: 1 } });
  });

  it("a token never creates: its thread deleted, its calls are 404 and the id stays free", async () => {
    const id = threadId("first-token");
    expect((await exec(id, "echo one")).status).toBe(200);
    const { token } = (await (await api("/v1/tokens", { method: "POST", body: { thread: id } })).json()) as { token: string };
    expect((await api(`/v1/threads/${id}`, { method: "DELETE" })).status).toBe(200);
    const res = await exports.default.fetch(`http://threadbox.test/v1/threads/${id}/files/a.txt`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}` },
      body: "x",
    });
    await expectError(res, 404, "THREAD_NOT_FOUND");
    expect(await rows(id)).toEqual([]);
  });

  it("another tenant's use of the same id creates its own thread and leaves the first one untouched", async () => {
    const id = threadId("first-tenants");
    expect((await exec(id, "echo acme")).status).toBe(200);
    expect((await exec(id, "echo beta", { tenant: "beta" })).status).toBe(200);
    expect((await api(`/v1/threads/${id}/files/planted.txt`, { method: "PUT", body: "x", tenant: "beta" })).status).toBe(201);
    expect(await fakeRuntime.calls(`/threads/acme/${id}`)).toEqual([`POST /threads/acme/${id}/exec`]);
    expect(await fakeRuntime.calls(`/threads/beta/${id}`)).toEqual([`POST /threads/beta/${id}/exec`, `PUT /threads/beta/${id}/files/planted.txt`]);
    expect((await state(id)).counts.executions).toBe(1);
    expect((await state(id, "beta")).counts.executions).toBe(1);
  });
});
