import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ExecResult,
  type ExecutionEvent,
  ExecutionRecordSchema,
  type RunPythonResponse,
  type ThreadState,
  ThreadStateSchema,
} from "../../shared/src/index.ts";
import { processesMatching } from "../runtime/harness.ts";
import { type PackageIndex, startPackageIndex } from "../runtime/package-index.ts";
import { SSE, checkTerminal, createThread, expectJson, liveEvents, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Two real runtimes behind one worker, sharing one WORKSPACES_ROOT (the shared bucket, locally) with a venv dir each.
// Runtime 0 is SIGKILLed in the middle of an execution: that execution ends RUNTIME_UNAVAILABLE and never runs again;
// runtime 0's threads move to runtime 1 on their next call, with their files and (from the manifest) their packages;
// runtime 1's threads do not notice.

let index: PackageIndex;
let stack: Stack;
const marker = `tbx-failover-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  index = await startPackageIndex([{ name: "tbx-move", version: "1.0.0" }]);
  stack = await startStack({ runtimes: 2, runtime: { PIP_INDEX_URL: index.url } });
});
afterAll(async () => {
  // PR_SET_PDEATHSIG ends a SIGKILLed runtime's runs; this is only a safety net, by pid.
  for (const line of await processesMatching(marker)) {
    const pid = Number(line.split(":")[0]);
    try {
      if (pid > 1) process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await stack?.stop();
  await index?.stop();
});

const state = async (thread: string): Promise<ThreadState> =>
  ThreadStateSchema.parse(await expectJson(stack.api("GET", `/v1/threads/${thread}`), 200));
const exec = async (thread: string, command: string): Promise<ExecResult> =>
  expectJson<ExecResult>(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command } }), 200);
const health = async () => {
  const res = await fetch(`${stack.worker.url}/v1/health`);
  return { status: res.status, body: await res.json() };
};

async function killRuntime0(): Promise<void> {
  const child = stack.runtimes[0]?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error("runtime 0 is not running");
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

describe("two runtimes, one killed", () => {
  it("spreads threads; moves the killed runtime's threads on their next call, with files and packages; leaves the rest alone", async () => {
    expect(await health()).toEqual({
      status: 200,
      body: { ok: true, runtimes: { total: 2, healthy: 2, instances: [{ index: 0, reachable: true }, { index: 1, reachable: true }] } },
    });

    // Threads until each runtime holds two (rendezvous hashing: each lands on either with even odds; bounded).
    const on: [string[], string[]] = [[], []];
    for (let i = 0; i < 24 && (on[0].length < 2 || on[1].length < 2); i++) {
      const thread = await createThread(stack, uniqueId("fo"));
      const { runtime } = await state(thread);
      if (runtime.index !== 0 && runtime.index !== 1) throw new Error(`thread ${thread} on runtime ${runtime.index}`);
      on[runtime.index].push(thread);
    }
    expect(on[0].length).toBeGreaterThanOrEqual(2);
    expect(on[1].length).toBeGreaterThanOrEqual(2);
    const [withPackage, interrupted, ...otherMoved] = on[0] as [string, string, ...string[]];

    for (const thread of [...on[0], ...on[1]]) {
      await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/notes/a.txt`, { raw: `note of ${thread}\n` }), 201);
    }
    for (const thread of on[1]) expect((await exec(thread, "cat notes/a.txt")).stdout).toBe(`note of ${thread}\n`);
    const install = await expectJson<{ ok: boolean }>(
      stack.api("POST", `/v1/threads/${withPackage}/packages`, { body: { packages: ["tbx-move"] } }),
      200,
    );
    expect(install.ok).toBe(true);
    const survivorsBefore = await Promise.all(on[1].map(state));

    // Runtime 0 dies in the middle of an execution that appends a line, then sleeps.
    const res = await stack.api("POST", `/v1/threads/${interrupted}/exec`, {
      body: { command: `echo run >> runs.log; echo started; sleep 30 # ${marker}` },
      accept: SSE,
    });
    const executionId = res.headers.get("x-execution-id");
    const events: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(res)) {
      events.push(event);
      if (event.type === "stdout") await killRuntime0();
    }
    expect(checkTerminal(events)).toMatchObject({ type: "error", code: "RUNTIME_UNAVAILABLE", execution_id: executionId });
    expect(events.some((e) => e.type === "result")).toBe(false);
    expect(await health()).toEqual({
      status: 200,
      body: { ok: true, runtimes: { total: 2, healthy: 1, instances: [{ index: 0, reachable: false }, { index: 1, reachable: true }] } },
    });

    // Its next call moves it; the interrupted execution ran once and was not sent again.
    expect(await exec(interrupted, "cat runs.log notes/a.txt")).toMatchObject({ exit_code: 0, stdout: `run\nnote of ${interrupted}\n` });
    const record = ExecutionRecordSchema.parse(await expectJson(stack.api("GET", `/v1/threads/${interrupted}/executions/${executionId}`), 200));
    expect(record).toMatchObject({ status: "error", error_code: "RUNTIME_UNAVAILABLE", stdout_tail: "started\n" });

    // An execution is the first call of this one: it goes to the runtime that answers, and the venv comes back.
    const code = "import tbx_move\nprint(tbx_move.hello())\nprint(open('notes/a.txt').read(), end='')";
    const run = await expectJson<RunPythonResponse>(stack.api("POST", `/v1/threads/${withPackage}/run_python`, { body: { code } }), 200);
    expect(run).toMatchObject({ is_error: false, metadata: { stdout: `hello from tbx-move 1.0.0\nnote of ${withPackage}\n` } });
    expect((await state(withPackage)).workspace?.packages).toEqual(["tbx-move==1.0.0"]);

    // A read is the first call of the others.
    for (const thread of otherMoved) {
      expect(await (await stack.api("GET", `/v1/threads/${thread}/files/notes/a.txt`)).text()).toBe(`note of ${thread}\n`);
    }
    for (const thread of on[0]) {
      const moved = await state(thread);
      expect(moved.runtime.index).toBe(1);
      expect(Date.parse(moved.runtime.placed_at)).toBeGreaterThan(Date.parse(moved.created_at));
    }

    // Runtime 1's threads: same placement, same state, files intact.
    expect(await Promise.all(on[1].map(state))).toEqual(survivorsBefore);
    for (const thread of on[1]) expect((await exec(thread, "cat notes/a.txt")).stdout).toBe(`note of ${thread}\n`);
  }, 240_000);

  it("places new threads only on the runtime that answers", async () => {
    for (let i = 0; i < 8; i++) {
      const thread = await createThread(stack, uniqueId("fo-new"));
      expect((await state(thread)).runtime.index).toBe(1);
      expect((await exec(thread, "echo here")).stdout).toBe("here\n");
    }
  }, 120_000);
});
