import { describe, expect, it } from "vitest";
import { WORKER_TEST_VARS } from "./bindings.ts";
import type { ErrorReply } from "./test-app.ts";
import { api, createThread, threadId } from "./thread-api.ts";

// The worker's half of checkpoints and forks, against the stand-in runtime (test/fake-runtime.ts): a fork names its
// source by the caller's tenant only, a failed fork leaves no thread, and checkpoint routes never create a thread.
const LIVE = WORKER_TEST_VARS.RUNTIME_URL;
const CK = `ck_${"a".repeat(24)}`;
const MISSING_CK = `ck_${"0".repeat(24)}`;

async function forksTo(id: string): Promise<unknown[]> {
  const all = (await (await fetch(`${LIVE}/_fake/forks`)).json()) as { path: string; body: string }[];
  return all.filter((f) => f.path === `/threads/acme/${id}/fork`).map((f) => JSON.parse(f.body) as unknown);
}

const code = async (res: Response) => ((await res.json()) as ErrorReply).error.code;

describe("forking a thread", () => {
  it("sends the runtime the source and checkpoint, then sets the new thread up", async () => {
    const src = await createThread("fork-src");
    const id = threadId("fork-dst");
    const res = await api("/v1/threads", { method: "POST", body: { id, from: { thread: src, checkpoint: CK } } });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await forksTo(id)).toEqual([{ from_thread: src, checkpoint: CK }]);
    expect((await api(`/v1/threads/${id}`)).status).toBe(200);
  });

  it("refuses another tenant's thread exactly as a missing one, and creates nothing", async () => {
    const theirs = await createThread("fork-theirs", "beta");
    const missing = threadId("fork-none");
    const answers: { status: number; code: string }[] = [];
    for (const source of [theirs, missing]) {
      const id = threadId("fork-refused");
      const res = await api("/v1/threads", { method: "POST", body: { id, from: { thread: source, checkpoint: CK } } });
      answers.push({ status: res.status, code: await code(res) });
      expect((await api(`/v1/threads/${id}`)).status).toBe(404);
      expect(await forksTo(id)).toEqual([]);
    }
    expect(answers).toEqual([
      { status: 404, code: "THREAD_NOT_FOUND" },
      { status: 404, code: "THREAD_NOT_FOUND" },
    ]);
  });

  it("leaves no thread behind when the runtime has no such checkpoint", async () => {
    const src = await createThread("fork-src2");
    const id = threadId("fork-dst2");
    const res = await api("/v1/threads", { method: "POST", body: { id, from: { thread: src, checkpoint: MISSING_CK } } });
    expect(res.status).toBe(404);
    expect(await code(res)).toBe("CHECKPOINT_NOT_FOUND");
    expect((await api(`/v1/threads/${id}`)).status).toBe(404);
    // The id is free again.
    expect((await api("/v1/threads", { method: "POST", body: { id } })).status).toBe(201);
  });

  it("validates `from`", async () => {
    const res = await api("/v1/threads", { method: "POST", body: { id: threadId("bad"), from: { thread: "x", checkpoint: "nope" } } });
    expect(res.status).toBe(400);
    expect(await code(res)).toBe("VALIDATION_FAILED");
  });
});

describe("checkpoint routes", () => {
  it("never create a thread: taking or restoring one on an unknown thread is a 404", async () => {
    const id = threadId("ck-unknown");
    for (const path of [`/v1/threads/${id}/checkpoints`, `/v1/threads/${id}/checkpoints/${CK}/restore`]) {
      const res = await api(path, { method: "POST", body: {} });
      expect(res.status, path).toBe(404);
      expect(await code(res)).toBe("THREAD_NOT_FOUND");
    }
    expect((await api(`/v1/threads/${id}/checkpoints`)).status).toBe(404);
    expect((await api(`/v1/threads/${id}`)).status).toBe(404);
  });

  it("lists through the thread's object, and refuses a malformed id with 400", async () => {
    const id = await createThread("ck-list");
    const list = await api(`/v1/threads/${id}/checkpoints`);
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ checkpoints: [] });
    const bad = await api(`/v1/threads/${id}/checkpoints/not-an-id`, { method: "DELETE" });
    expect(bad.status).toBe(400);
    const badRestore = await api(`/v1/threads/${id}/checkpoints/not-an-id/restore`, { method: "POST", body: {} });
    expect(badRestore.status).toBe(400);
  });
});
