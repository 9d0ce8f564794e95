import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecutionEvent, ExecutionRecordSchema, ExecResultSchema } from "../../shared/src/index.ts";
import { type RuntimeProcess, processesMatching, startRuntime } from "../runtime/harness.ts";
import { type ErrorJson, SSE, checkTerminal, createThread, expectJson, liveEvents, uniqueId, waitFor } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Faults: the runtime down, and the runtime killed in the middle of an execution. The execution ends
// RUNTIME_UNAVAILABLE (never a made-up result), and a runtime restarted on the same port and data dirs serves the
// same thread again with its files intact.

let stack: Stack;
/** The runtime serving now: the stack's own at first, then each restart. */
let current: RuntimeProcess;
const restarts: RuntimeProcess[] = [];
const markers: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  current = stack.runtime;
});
afterAll(async () => {
  for (const rt of restarts) await rt.stop();
  // A SIGKILLed runtime cannot tear down its runs: end any survivor of ours, by pid.
  for (const marker of markers) {
    for (const line of await processesMatching(marker)) {
      const pid = Number(line.split(":")[0]);
      if (pid > 1) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }
  await stack?.stop(); // removes the data dirs the restarts shared
});

async function killRuntime(): Promise<void> {
  const child = current.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

/** A new runtime process on the same port (the worker's RUNTIME_URL) and the same workspaces and state dirs. */
async function restartRuntime(): Promise<void> {
  const port = new URL(stack.runtime.url).port;
  const rt = await startRuntime({ PORT: port, RUNTIME_ID: stack.runtime.url }, { root: stack.runtime.root });
  restarts.push(rt);
  expect(rt.url).toBe(stack.runtime.url);
  expect(rt.workspaces).toBe(stack.runtime.workspaces);
  current = rt;
}

async function exec(thread: string, command: string) {
  return ExecResultSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command } }), 200));
}

describe("runtime down", () => {
  it("answers executions 503 RUNTIME_UNAVAILABLE and health 503; a restarted runtime serves the thread again", async () => {
    const thread = await createThread(stack, uniqueId("down"));
    expect((await exec(thread, "echo before > before.txt; echo ok")).stdout).toBe("ok\n");

    await killRuntime();

    const res = await stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "echo hi" } });
    const body = await expectJson<ErrorJson>(res, 503);
    expect(body.error.code).toBe("RUNTIME_UNAVAILABLE");

    // Streamed: one error event, never a result.
    const streamed: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(await stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "echo hi" }, accept: SSE }))) {
      streamed.push(event);
    }
    expect(streamed).toHaveLength(1);
    expect(streamed[0]).toMatchObject({ type: "error", code: "RUNTIME_UNAVAILABLE", seq: 0 });

    const tool = await expectJson<ErrorJson>(stack.api("POST", `/v1/threads/${thread}/run_python`, { body: { code: "print(1)" } }), 503);
    expect(tool.error.code).toBe("RUNTIME_UNAVAILABLE");
    const file = await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${thread}/files/before.txt`), 503);
    expect(file.error.code).toBe("RUNTIME_UNAVAILABLE");

    const health = await fetch(`${stack.worker.url}/v1/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ ok: false, runtimes: { total: 1, healthy: 0, instances: [{ index: 0, reachable: false }] } });

    // The thread itself is still known; its workspace cannot be described right now.
    const state = await expectJson<{ workspace: unknown }>(stack.api("GET", `/v1/threads/${thread}`), 200);
    expect(state.workspace).toBeNull();
    // The failed executions are recorded as errors, not as successes.
    const history = await expectJson<{ executions: { status: string; error_code: string | null }[] }>(
      stack.api("GET", `/v1/threads/${thread}/executions`),
      200,
    );
    expect(history.executions.slice(0, 3).map((e) => [e.status, e.error_code])).toEqual([
      ["error", "RUNTIME_UNAVAILABLE"],
      ["error", "RUNTIME_UNAVAILABLE"],
      ["error", "RUNTIME_UNAVAILABLE"],
    ]);

    await restartRuntime();
    // Health answers from a view the worker refreshes every couple of seconds (anyone may ask, so asking must not
    // cost a call to every runtime): it says 200 once that view has seen the runtime back.
    const healthy = await waitFor(async () => (await fetch(`${stack.worker.url}/v1/health`)).status === 200, 10_000, 500);
    expect(healthy).toBe(true);
    expect((await exec(thread, "cat before.txt")).stdout).toBe("before\n");
  });
});

describe("runtime killed mid-execution", () => {
  it("ends the stream with an error RUNTIME_UNAVAILABLE; after a restart the thread works and its files are intact", async () => {
    const thread = await createThread(stack, uniqueId("crash"));
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/data/in.csv`, { raw: "a,b\n1,2\n" }), 201);
    expect((await exec(thread, "echo pre > pre.txt; python -c 'print(6*7)' > py.txt; echo ok")).stdout).toBe("ok\n");

    const marker = `tbx-crash-${randomUUID().slice(0, 8)}`;
    markers.push(marker);
    const started = performance.now();
    const res = await stack.api("POST", `/v1/threads/${thread}/exec`, {
      body: { command: `echo started; sleep 20; echo never # ${marker}` },
      accept: SSE,
    });
    const id = res.headers.get("x-execution-id");
    if (!id) throw new Error("no x-execution-id");
    const events: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(res)) {
      events.push(event);
      if (event.type === "stdout" && events.filter((e) => e.type === "stdout").length === 1) {
        expect(event.data).toBe("started\n");
        await killRuntime();
      }
    }
    expect(performance.now() - started).toBeLessThan(15_000);
    const terminal = checkTerminal(events);
    expect(terminal).toMatchObject({ type: "error", code: "RUNTIME_UNAVAILABLE", execution_id: id });
    expect(events.some((e) => e.type === "result")).toBe(false);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));

    const record = ExecutionRecordSchema.parse(await expectJson(stack.api("GET", `/v1/threads/${thread}/executions/${id}`), 200));
    expect(record).toMatchObject({ status: "error", error_code: "RUNTIME_UNAVAILABLE", exit_code: null, stdout_tail: "started\n" });
    expect(record.finished_at).not.toBeNull();
    // The stored log says the same as the live stream did.
    const log = await expectJson<{ events: ExecutionEvent[] }>(stack.api("GET", `/v1/threads/${thread}/executions/${id}/events`), 200);
    expect(log.events).toEqual(events);

    await restartRuntime();
    const after = await exec(thread, "cat pre.txt py.txt data/in.csv; python -c 'print(\"venv ok\")'");
    expect(after).toMatchObject({ exit_code: 0, stdout: "pre\n42\na,b\n1,2\nvenv ok\n" });
    const file = await stack.api("GET", `/v1/threads/${thread}/files/data/in.csv`);
    expect(await file.text()).toBe("a,b\n1,2\n");
    const py = await expectJson<{ is_error: boolean; metadata: { stdout: string } }>(
      stack.api("POST", `/v1/threads/${thread}/run_python`, { body: { code: "print(open('pre.txt').read().strip())" } }),
      200,
    );
    expect(py).toMatchObject({ is_error: false, metadata: { stdout: "pre\n" } });
    // The interrupted execution stays an error in the history; the thread is not busy.
    const state = await expectJson<{ counts: { running: number; queued: number } }>(stack.api("GET", `/v1/threads/${thread}`), 200);
    expect(state.counts).toMatchObject({ running: 0, queued: 0 });
  });
});

describe("a run does not outlive a SIGKILLed runtime", () => {
  // The timeout lived in the dead runtime: the run's tree must die with it (seccomp-exec sets PR_SET_PDEATHSIG, so
  // unshare is killed with the runtime and takes its pid namespace down).
  it("leaves no process of the interrupted run behind", async () => {
    const thread = await createThread(stack, uniqueId("orphan"));
    const marker = `tbx-orphan-${randomUUID().slice(0, 8)}`;
    markers.push(marker);
    const res = await stack.api("POST", `/v1/threads/${thread}/exec`, {
      body: { command: `echo started; sleep 20; echo never # ${marker}` },
      accept: SSE,
    });
    const events: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(res)) {
      events.push(event);
      if (event.type === "stdout") await killRuntime();
    }
    expect(events.at(-1)).toMatchObject({ type: "error", code: "RUNTIME_UNAVAILABLE" });
    await restartRuntime();
    const gone = await waitFor(async () => (await processesMatching(marker)).length === 0, 3000);
    expect(gone, (await processesMatching(marker)).join("\n")).toBe(true);
  });
});
