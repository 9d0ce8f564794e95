import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EXECUTION_ID_HEADER,
  type ExecResult,
  type ExecutionEvent,
} from "../../shared/src/index.ts";
import { type RuntimeProcess, liveEvents, processesMatching, readEvents, startRuntime } from "./harness.ts";

// The execution event stream over SSE and NDJSON: order, seq, one terminal event, live delivery, cancel.

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

const newThread = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** Configures the workspace first, so timing checks measure the command and not the venv set-up. */
async function readyThread(label: string): Promise<string> {
  const thread = newThread(label);
  await rt.json("POST", `/threads/acme/${thread}`);
  return thread;
}

function execStream(thread: string, command: string, accept: "sse" | "ndjson", headers: Record<string, string> = {}) {
  return rt.call("POST", `/threads/acme/${thread}/exec`, { body: { command }, accept, headers });
}

/** The invariants every stream keeps; returns the exec result. */
function checkStream(events: ExecutionEvent[]): ExecResult {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
  expect(events[0]?.type).toBe("start");
  const terminal = events.filter((e) => e.type === "result" || e.type === "error");
  expect(terminal).toHaveLength(1);
  const last = events.at(-1);
  expect(last).toBe(terminal[0]);
  if (last?.type !== "result" || last.result.kind !== "exec") throw new Error(`unexpected ending: ${JSON.stringify(last)}`);
  const id = last.result.value.execution_id;
  for (const e of events) expect(e.execution_id).toBe(id);
  return last.result.value;
}

const dataOf = (events: ExecutionEvent[], type: "stdout" | "stderr") =>
  events.flatMap((e) => (e.type === type ? [e.data] : [])).join("");

describe.each(["sse", "ndjson"] as const)("%s", (accept) => {
  it("streams start, stdout in order, then one result", async () => {
    const thread = await readyThread(`order-${accept}`);
    const res = await execStream(thread, "for i in 1 2 3; do echo $i; sleep 0.2; done", accept);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain(accept === "sse" ? "text/event-stream" : "application/x-ndjson");
    const events = await readEvents(res);
    const result = checkStream(events);
    expect(res.headers.get("x-execution-id")).toBe(result.execution_id);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("start");
    expect(types.at(-1)).toBe("result");
    expect(types.slice(1, -1).every((t) => t === "stdout")).toBe(true);
    expect(types.filter((t) => t === "stdout").length).toBeGreaterThanOrEqual(3);
    expect(dataOf(events, "stdout")).toBe("1\n2\n3\n");
    expect(result).toMatchObject({ exit_code: 0, stdout: "1\n2\n3\n", canceled: false, timed_out: false });
  });

  it("streams stderr as stderr events", async () => {
    const thread = await readyThread(`stderr-${accept}`);
    const events = await readEvents(await execStream(thread, "echo out; echo err >&2", accept));
    const result = checkStream(events);
    expect(dataOf(events, "stderr")).toBe("err\n");
    expect(dataOf(events, "stdout")).toBe("out\n");
    expect(result).toMatchObject({ stdout: "out\n", stderr: "err\n" });
  });

  it("delivers output while the program still runs", async () => {
    const thread = await readyThread(`live-${accept}`);
    const res = await execStream(thread, "echo first; sleep 2; echo second", accept);
    let firstStdoutAt: number | undefined;
    let resultAt: number | undefined;
    const events: ExecutionEvent[] = [];
    for await (const { event, at } of liveEvents(res)) {
      events.push(event);
      if (event.type === "stdout" && firstStdoutAt === undefined) firstStdoutAt = at;
      if (event.type === "result") resultAt = at;
    }
    checkStream(events);
    expect(dataOf(events, "stdout")).toBe("first\nsecond\n");
    if (firstStdoutAt === undefined || resultAt === undefined) throw new Error("missing events");
    // An ordering check: "first" must arrive before the sleep ends, not buffered until exit.
    expect(firstStdoutAt).toBeLessThan(resultAt - 1000);
  });

  it("stamps every event with a caller-chosen execution id", async () => {
    const thread = await readyThread(`chosen-${accept}`);
    const id = `mine_${randomUUID().replaceAll("-", "")}`;
    const res = await execStream(thread, "echo a; echo b >&2", accept, { [EXECUTION_ID_HEADER]: id });
    expect(res.headers.get("x-execution-id")).toBe(id);
    const events = await readEvents(res);
    expect(checkStream(events).execution_id).toBe(id);
    for (const e of events) expect(e.execution_id).toBe(id);
  });

  it("ends a cancelled execution with a canceled result, long before it would finish", async () => {
    const thread = await readyThread(`cancel-${accept}`);
    const id = `cancel_${randomUUID().replaceAll("-", "")}`;
    const marker = `${29 + Math.random()}`.slice(0, 8);
    const started = performance.now();
    const res = await execStream(thread, `sleep ${marker}`, accept, { [EXECUTION_ID_HEADER]: id });
    const events: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(res)) {
      events.push(event);
      if (event.type === "start") {
        expect(await rt.json("POST", `/executions/${id}/cancel`)).toEqual({ execution_id: id, cancelled: true });
      }
    }
    expect(performance.now() - started).toBeLessThan(10_000);
    const result = checkStream(events);
    expect(result).toMatchObject({ execution_id: id, canceled: true, timed_out: false });
    expect(await processesMatching(`sleep ${marker}`)).toEqual([]);
    expect(await rt.json("POST", `/executions/${id}/cancel`)).toEqual({ execution_id: id, cancelled: false });
  });

  it("replaces invalid UTF-8 with U+FFFD and still sends valid JSON", async () => {
    const thread = await readyThread(`utf8-${accept}`);
    const events = await readEvents(await execStream(thread, "printf '\\xff\\xfe ok'", accept));
    const result = checkStream(events);
    expect(dataOf(events, "stdout")).toBe("\uFFFD\uFFFD ok");
    expect(result.stdout).toBe("\uFFFD\uFFFD ok");
  });
});

describe("run_python over SSE", () => {
  it("streams the program's output and ends with the run_python response", async () => {
    const thread = await readyThread("py-sse");
    const res = await rt.call("POST", `/threads/acme/${thread}/run_python`, {
      body: { code: "import sys\nprint('to out')\nprint('to err', file=sys.stderr)" },
      accept: "sse",
    });
    const events = await readEvents(res);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0]).toMatchObject({ type: "start", kind: "run_python", thread_id: thread });
    expect(dataOf(events, "stdout")).toBe("to out\n");
    expect(dataOf(events, "stderr")).toBe("to err\n");
    const last = events.at(-1);
    expect(last?.type).toBe("result");
    if (last?.type !== "result" || last.result.kind !== "run_python") throw new Error("expected a run_python result");
    expect(last.result.value).toMatchObject({ text: "to out", is_error: false });
    expect(last.result.value.metadata.execution_id).toBe(last.execution_id);
  });
});

describe("JSON answers", () => {
  it("replaces invalid UTF-8 in a non-streamed exec result too", async () => {
    const thread = newThread("utf8-json");
    const res = await rt.call("POST", `/threads/acme/${thread}/exec`, { body: { command: "printf '\\xff\\xfe ok'" } });
    const text = await res.text();
    expect(() => JSON.parse(text)).not.toThrow();
    expect((JSON.parse(text) as ExecResult).stdout).toBe("\uFFFD\uFFFD ok");
  });
});
