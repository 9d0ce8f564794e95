import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Checkpoint, CheckpointList, ExecResult, ExecutionRecord, RestoreResult } from "../../shared/src/index.ts";
import { type ErrorJson, createThread, expectJson, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Checkpoints, restore and fork through the whole stack: the worker's routes and the thread's object (its queue) in
// workerd, a real runtime behind them.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const exec = (thread: string, command: string, auth?: string) =>
  expectJson<ExecResult>(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command }, ...(auth ? { auth } : {}) }), 200);
const take = (thread: string, label?: string) => expectJson<Checkpoint>(stack.api("POST", `/v1/threads/${thread}/checkpoints`, { body: label ? { label } : {} }), 200);
const history = async (thread: string) =>
  (await expectJson<{ executions: ExecutionRecord[] }>(stack.api("GET", `/v1/threads/${thread}/executions?limit=20`), 200)).executions;

/** Polls (bounded) until the thread's history has an execution in `status` of `kind`. */
async function waitFor(thread: string, kind: string, status: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await history(thread)).some((e) => e.kind === kind && e.status === status)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${kind} became ${status}`);
}

describe("checkpoints through the public API", () => {
  it("takes, lists, restores and deletes", async () => {
    const t = await createThread(stack, uniqueId("ck"));
    expect((await exec(t, "echo v1 > a.txt && mkdir -p sub && echo keep > sub/k")).exit_code).toBe(0);
    const cp = await take(t, "v1");
    expect(cp).toMatchObject({ label: "v1", skipped: [] });
    expect((await exec(t, "echo v2 > a.txt && rm -r sub && echo extra > b.txt")).exit_code).toBe(0);
    const r = await expectJson<RestoreResult>(stack.api("POST", `/v1/threads/${t}/checkpoints/${cp.id}/restore`, { body: {} }), 200);
    expect(r).toMatchObject({ checkpoint: cp.id, venv_rebuilt: false });
    expect((await exec(t, "cat a.txt sub/k; ls b.txt 2>&1 || true")).stdout).toMatch(/^v1\nkeep\nls: cannot access 'b.txt'/);
    const list = await expectJson<CheckpointList>(stack.api("GET", `/v1/threads/${t}/checkpoints`), 200);
    expect(list.checkpoints.map((c) => c.id)).toEqual([cp.id]);
    expect((await history(t)).map((e) => e.kind)).toContain("restore");
    await expectJson(stack.api("DELETE", `/v1/threads/${t}/checkpoints/${cp.id}`), 200);
    const gone = await stack.api("DELETE", `/v1/threads/${t}/checkpoints/${cp.id}`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as ErrorJson).error.code).toBe("CHECKPOINT_NOT_FOUND");
  });

  it("runs a restore exactly between the execution before it and the one queued after it", async () => {
    const t = await createThread(stack, uniqueId("race"));
    expect((await exec(t, "echo base > state.txt")).exit_code).toBe(0);
    const cp = await take(t);
    // The first run holds the queue until the file it waits for appears (no wall-clock guess about ordering).
    const first = exec(t, "for i in $(seq 1 600); do test -e go && break; sleep 0.05; done; echo first > state.txt; echo first > made-by-first.txt");
    await waitFor(t, "exec", "running");
    const restore = expectJson<RestoreResult>(stack.api("POST", `/v1/threads/${t}/checkpoints/${cp.id}/restore`, { body: {} }), 200);
    await waitFor(t, "restore", "queued");
    const after = exec(t, "cat state.txt; test -e made-by-first.txt && echo leaked || echo clean");
    await waitFor(t, "exec", "queued");
    // Let the first run finish: it writes, then the restore undoes it, then the last run reads.
    await expectJson(stack.api("PUT", `/v1/threads/${t}/files/go`, { raw: "" }), 201);
    expect((await first).exit_code).toBe(0);
    expect((await restore).checkpoint).toBe(cp.id);
    expect((await after).stdout).toBe("base\nclean\n");
  });

  it("forks a thread as it is now, and as a checkpoint has it", async () => {
    const src = await createThread(stack, uniqueId("src"));
    expect((await exec(src, "echo one > f.txt")).exit_code).toBe(0);
    const cp = await take(src);
    expect((await exec(src, "echo two > f.txt")).exit_code).toBe(0);
    const now = uniqueId("now");
    await expectJson(stack.api("POST", "/v1/threads", { body: { id: now, from: { thread: src } } }), 201);
    expect((await exec(now, "cat f.txt")).stdout).toBe("two\n");
    const then = uniqueId("then");
    await expectJson(stack.api("POST", "/v1/threads", { body: { id: then, from: { thread: src, checkpoint: cp.id } } }), 201);
    expect((await exec(then, "cat f.txt")).stdout).toBe("one\n");
    // The fork is its own thread: its changes do not reach the source.
    expect((await exec(then, "echo mine > f.txt")).exit_code).toBe(0);
    expect((await exec(src, "cat f.txt")).stdout).toBe("two\n");
  });

  it("refuses a fork of another tenant's thread exactly as a missing one", async () => {
    const theirs = await createThread(stack, uniqueId("theirs"), stack.tenants.b.key);
    expect((await exec(theirs, "echo secret > s.txt", stack.tenants.b.key)).exit_code).toBe(0);
    const answers = [];
    for (const source of [theirs, uniqueId("missing")]) {
      const id = uniqueId("fork");
      const res = await stack.api("POST", "/v1/threads", { body: { id, from: { thread: source } } });
      answers.push({ status: res.status, code: ((await res.json()) as ErrorJson).error.code });
      expect((await stack.api("GET", `/v1/threads/${id}`)).status).toBe(404);
    }
    expect(answers).toEqual([
      { status: 404, code: "THREAD_NOT_FOUND" },
      { status: 404, code: "THREAD_NOT_FOUND" },
    ]);
  });
});
