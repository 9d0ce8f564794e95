import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecutionEvent, type ExecutionRecord, ExecutionRecordSchema } from "../../shared/src/index.ts";
import { processesMatching, readEvents } from "../runtime/harness.ts";
import { type ErrorJson, NDJSON, SSE, checkTerminal, createThread, dataOf, expectJson, liveEvents, uniqueId, waitFor } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Streaming through the worker and the thread's Durable Object: live delivery, SSE framing, resume with `?after=`,
// cancel, and the per-thread queue (QUEUE_MAX=1: one running, one queued, the next refused).

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: { QUEUE_MAX: "1" } });
});
afterAll(async () => {
  await stack?.stop();
});

function execStream(thread: string, command: string, accept: string) {
  return stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command }, accept });
}

async function record(thread: string, id: string): Promise<ExecutionRecord> {
  return ExecutionRecordSchema.parse(await expectJson(stack.api("GET", `/v1/threads/${thread}/executions/${id}`), 200));
}

/** Reads a whole stream with arrival times. */
async function collect(res: Response): Promise<{ event: ExecutionEvent; at: number }[]> {
  const out: { event: ExecutionEvent; at: number }[] = [];
  for await (const item of liveEvents(res)) out.push(item);
  return out;
}

function execResultOf(event: ExecutionEvent) {
  if (event.type !== "result" || event.result.kind !== "exec") throw new Error(`not an exec result: ${JSON.stringify(event)}`);
  return event.result.value;
}

describe.each([
  ["sse", SSE],
  ["ndjson", NDJSON],
] as const)("%s through the worker", (label, accept) => {
  it("delivers the first output while the program still runs, then exactly one terminal event", async () => {
    const thread = await createThread(stack, uniqueId(`live-${label}`));
    const res = await execStream(thread, "echo first; sleep 2; echo second", accept);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain(accept);
    const items = await collect(res); // liveEvents checks `id:` = seq and `event:` = type for SSE
    const events = items.map((i) => i.event);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0]?.type).toBe("start");
    const terminal = checkTerminal(events);
    expect(terminal.type).toBe("result");
    const result = execResultOf(terminal);
    expect(res.headers.get("x-execution-id")).toBe(result.execution_id);
    expect(result).toMatchObject({ exit_code: 0, stdout: "first\nsecond\n", canceled: false });
    expect(dataOf(events, "stdout")).toBe("first\nsecond\n");

    const firstStdout = items.find((i) => i.event.type === "stdout");
    const resultAt = items.at(-1)?.at;
    if (!firstStdout || resultAt === undefined) throw new Error("missing events");
    // Ordering, not a performance threshold: "first" arrives before the 2 s sleep ends, not buffered until exit.
    expect(firstStdout.at).toBeLessThan(resultAt - 1000);
  });
});

describe("resume with ?after=", () => {
  it("replays exactly the events after SEQ of a finished execution (SSE, NDJSON and JSON)", async () => {
    const thread = await createThread(stack, uniqueId("resume-done"));
    const res = await execStream(thread, "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three", SSE);
    const all = (await collect(res)).map((i) => i.event);
    const id = execResultOf(checkTerminal(all)).execution_id;
    expect(all.length).toBeGreaterThanOrEqual(5);
    const expected = all.filter((e) => e.seq > 1);

    const sse = await stack.api("GET", `/v1/threads/${thread}/executions/${id}/events?after=1`, { accept: SSE });
    expect(sse.status).toBe(200);
    expect(sse.headers.get("content-type")).toContain(SSE);
    expect((await collect(sse)).map((i) => i.event)).toEqual(expected);

    const ndjson = await stack.api("GET", `/v1/threads/${thread}/executions/${id}/events?after=1`, { accept: NDJSON });
    expect(await readEvents(ndjson)).toEqual(expected);

    const json = await expectJson<{ execution_id: string; events: ExecutionEvent[] }>(
      stack.api("GET", `/v1/threads/${thread}/executions/${id}/events?after=1`),
      200,
    );
    expect(json).toEqual({ execution_id: id, events: expected });

    // Default: everything; after the terminal seq: nothing; a bad `after`: 400.
    const everything = await expectJson<{ events: ExecutionEvent[] }>(stack.api("GET", `/v1/threads/${thread}/executions/${id}/events`), 200);
    expect(everything.events).toEqual(all);
    const last = all.at(-1)?.seq ?? 0;
    const none = await expectJson<{ events: ExecutionEvent[] }>(stack.api("GET", `/v1/threads/${thread}/executions/${id}/events?after=${last}`), 200);
    expect(none.events).toEqual([]);
    const bad = await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${thread}/executions/${id}/events?after=abc`), 400);
    expect(bad.error.code).toBe("VALIDATION_FAILED");
    const unknown = await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${thread}/executions/ex_unknown/events?after=1`), 404);
    expect(unknown.error.code).toBe("EXECUTION_NOT_FOUND");
  });

  it("resumes a running execution: stored events, then the rest live, ending with the result", async () => {
    const thread = await createThread(stack, uniqueId("resume-live"));
    const res = await execStream(thread, "echo one; sleep 1.5; echo two; sleep 1.5; echo three", SSE);
    const id = res.headers.get("x-execution-id");
    if (!id) throw new Error("no x-execution-id");
    const original = liveEvents(res)[Symbol.asyncIterator]();
    const first = await original.next();
    expect(first.done).toBe(false);
    expect(first.value?.event.type).toBe("start");

    // In parallel: a second reader from seq 0 on, and the original reader going on.
    const resumedAt = performance.now();
    const resumedRes = await stack.api("GET", `/v1/threads/${thread}/executions/${id}/events?after=0`, { accept: SSE });
    expect(resumedRes.status).toBe(200);
    const [resumed, rest] = await Promise.all([
      collect(resumedRes),
      (async () => {
        const out: ExecutionEvent[] = [];
        for (let n = await original.next(); !n.done; n = await original.next()) out.push(n.value.event);
        return out;
      })(),
    ]);
    const originalEvents = [first.value.event, ...rest];
    const result = execResultOf(checkTerminal(originalEvents));
    expect(result.stdout).toBe("one\ntwo\nthree\n");

    const resumedEvents = resumed.map((i) => i.event);
    expect(resumedEvents).toEqual(originalEvents.filter((e) => e.seq > 0));
    expect(checkTerminal(resumedEvents).type).toBe("result");
    // Live: the resumed reader got output well before the execution ended (not a replay after the fact).
    const resumedResultAt = resumed.at(-1)?.at ?? 0;
    const firstOutput = resumed.find((i) => i.event.type === "stdout");
    expect(firstOutput?.at).toBeLessThan(resumedResultAt - 1000);
    expect(resumedAt).toBeLessThan(resumedResultAt - 1000);
  });
});

describe("cancel", () => {
  it("ends a running execution with a canceled result long before it would finish, leaving no process", async () => {
    const thread = await createThread(stack, uniqueId("cancel"));
    const marker = `tbx-cancel-${randomUUID().slice(0, 8)}`;
    const started = performance.now();
    const res = await execStream(thread, `sleep 30 # ${marker}`, SSE);
    const id = res.headers.get("x-execution-id");
    if (!id) throw new Error("no x-execution-id");
    const events: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(res)) {
      events.push(event);
      if (event.type === "start") {
        // The run really is on the host (so "no process afterwards" means something).
        expect(await waitFor(async () => (await processesMatching(marker)).length > 0, 5000)).toBe(true);
        const cancel = await expectJson(stack.api("POST", `/v1/threads/${thread}/executions/${id}/cancel`), 200);
        expect(cancel).toEqual({ execution_id: id, cancelled: true });
      }
    }
    expect(performance.now() - started).toBeLessThan(10_000);
    const result = execResultOf(checkTerminal(events));
    expect(result).toMatchObject({ execution_id: id, canceled: true, timed_out: false });
    expect(await processesMatching(marker)).toEqual([]);
    expect(await record(thread, id)).toMatchObject({ status: "cancelled" });
    // Cancelling again: nothing to cancel.
    expect(await expectJson(stack.api("POST", `/v1/threads/${thread}/executions/${id}/cancel`), 200)).toEqual({
      execution_id: id,
      cancelled: false,
    });
  });
});

describe("the per-thread queue (QUEUE_MAX=1)", () => {
  it("runs one, queues one, refuses the next with 429 THREAD_BUSY and Retry-After; the queued one runs after", async () => {
    const thread = await createThread(stack, uniqueId("queue"));
    const first = await execStream(thread, "sleep 3; echo first-done", SSE);
    const firstId = first.headers.get("x-execution-id");
    const firstEvents = collect(first);
    const second = await execStream(thread, "echo second-ran", SSE);
    const secondId = second.headers.get("x-execution-id");
    const secondEvents = collect(second);

    const third = await stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "echo third" } });
    const busy = await expectJson<ErrorJson>(third, 429);
    expect(busy.error.code).toBe("THREAD_BUSY");
    const retryAfter = Number(third.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter > 0).toBe(true);
    const state = await expectJson<{ counts: { executions: number; running: number; queued: number } }>(
      stack.api("GET", `/v1/threads/${thread}`),
      200,
    );
    expect(state.counts).toEqual({ executions: 2, running: 1, queued: 1 });

    const [a, b] = await Promise.all([firstEvents, secondEvents]);
    expect(execResultOf(checkTerminal(a.map((i) => i.event)))).toMatchObject({ exit_code: 0, stdout: "first-done\n" });
    expect(execResultOf(checkTerminal(b.map((i) => i.event)))).toMatchObject({ exit_code: 0, stdout: "second-ran\n" });
    // The queued one started only after the first had finished.
    expect(b.find((i) => i.event.type === "start")?.at).toBeGreaterThanOrEqual(a.at(-1)?.at ?? Infinity);
    if (!firstId || !secondId) throw new Error("no execution ids");
    const [r1, r2] = [await record(thread, firstId), await record(thread, secondId)];
    expect(r1.status).toBe("succeeded");
    expect(r2.status).toBe("succeeded");
    expect(Date.parse(r2.started_at ?? "")).toBeGreaterThanOrEqual(Date.parse(r1.finished_at ?? ""));
    // The refused call left no trace.
    const history = await expectJson<{ executions: ExecutionRecord[] }>(stack.api("GET", `/v1/threads/${thread}/executions`), 200);
    expect(history.executions.map((e) => e.id)).toEqual([secondId, firstId]);
  });

  it("cancels a queued execution: it ends with EXECUTION_CANCELLED without running", async () => {
    const thread = await createThread(stack, uniqueId("queue-cancel"));
    const first = await execStream(thread, "sleep 3; echo first-done", SSE);
    const firstEvents = collect(first);
    const queued = await execStream(thread, "echo ran > ran.txt; echo queued-ran", SSE);
    const queuedId = queued.headers.get("x-execution-id");
    if (!queuedId) throw new Error("no x-execution-id");
    expect(await record(thread, queuedId)).toMatchObject({ status: "queued", started_at: null });

    const cancel = await expectJson(stack.api("POST", `/v1/threads/${thread}/executions/${queuedId}/cancel`), 200);
    expect(cancel).toEqual({ execution_id: queuedId, cancelled: true });
    const events = (await collect(queued)).map((i) => i.event);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "error", code: "EXECUTION_CANCELLED", seq: 0, execution_id: queuedId });

    // The running one is untouched and finishes; the cancelled one never runs, then or later.
    expect(execResultOf(checkTerminal((await firstEvents).map((i) => i.event)))).toMatchObject({ exit_code: 0, canceled: false });
    await new Promise((r) => setTimeout(r, 500));
    expect(await record(thread, queuedId)).toMatchObject({
      status: "cancelled",
      error_code: "EXECUTION_CANCELLED",
      started_at: null,
      exit_code: null,
    });
    const file = await stack.api("GET", `/v1/threads/${thread}/files/ran.txt`);
    expect(file.status).toBe(404);
    // Its stored log holds just the cancellation.
    const replay = await expectJson<{ events: ExecutionEvent[] }>(stack.api("GET", `/v1/threads/${thread}/executions/${queuedId}/events`), 200);
    expect(replay.events).toEqual(events);
  });
});
