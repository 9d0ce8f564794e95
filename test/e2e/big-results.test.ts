import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellResult,
  type ExecutionEvent,
  ExecutionRecordSchema,
  ExecResultSchema,
} from "../../shared/src/index.ts";
import { SSE, checkTerminal, createThread, expectJson, liveEvents, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Results never lost, through the real worker and runtime: outputs that are megabytes once JSON-escaped, a stdin
// near the schema's 10 MB, a figure of megabytes; each answered, recorded as it ended, and resumable. The thread's
// Durable Object refuses any row over Cloudflare's 2 MB limit here too (worker/src/do/row-limit.ts).

let stack: Stack;
beforeAll(async () => {
  // Room for 1 MiB of output and then some (the default cap is 1 MiB of stdout and stderr together).
  stack = await startStack({ runtime: { MAX_OUTPUT_BYTES: String(4 * 2 ** 20) } });
});
afterAll(async () => {
  await stack?.stop();
});

async function record(thread: string, id: string) {
  return ExecutionRecordSchema.parse(await expectJson(stack.api("GET", `/v1/threads/${thread}/executions/${id}`), 200));
}

/** The stored log, resumed with SSE after `after`. */
async function resumed(thread: string, id: string, after = -1): Promise<ExecutionEvent[]> {
  const events: ExecutionEvent[] = [];
  const res = await stack.api("GET", `/v1/threads/${thread}/executions/${id}/events?after=${after}`, { accept: SSE });
  for await (const { event } of liveEvents(res)) events.push(event);
  return events;
}

describe("big results", () => {
  it("answers and keeps 1 MiB of control characters (6 MiB as JSON), and resumes it", { timeout: 120_000 }, async () => {
    const thread = await createThread(stack, uniqueId("ctrl"));
    const command = `python3 -c "import sys; sys.stdout.write(''.join(chr(1 + i % 31) for i in range(1 << 20)))"`;
    const result = ExecResultSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command } }), 200));
    expect({ exit_code: result.exit_code, truncated: result.truncated, length: result.stdout.length }).toEqual({
      exit_code: 0,
      truncated: false,
      length: 2 ** 20,
    });
    expect(/^[\x01-\x1f]+$/.test(result.stdout)).toBe(true);
    expect(await record(thread, result.execution_id)).toMatchObject({ status: "succeeded", exit_code: 0, error_code: null });

    const events = await resumed(thread, result.execution_id);
    const terminal = checkTerminal(events);
    expect(terminal.type === "result" && terminal.result.kind === "exec" && terminal.result.value).toEqual(result);
    const tail = await resumed(thread, result.execution_id, terminal.seq - 1);
    expect(tail).toEqual([terminal]);
  });

  it("runs a 9 MB stdin whole", { timeout: 120_000 }, async () => {
    const thread = await createThread(stack, uniqueId("stdin"));
    const stdin = "stdin é😀 line\n".repeat(600_000).slice(0, 9_000_000);
    const res = await stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "wc -c; echo", stdin } });
    const result = ExecResultSchema.parse(await expectJson(res, 200));
    expect(result.stdout.trim()).toBe(String(Buffer.byteLength(stdin)));
    const digest = ExecResultSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "sha256sum", stdin } }), 200),
    );
    expect(digest.stdout.split(" ")[0]).toBe(createHash("sha256").update(stdin).digest("hex"));
    expect(await record(thread, result.execution_id)).toMatchObject({ status: "succeeded" });
  });

  it("keeps a cell result carrying a figure of megabytes, streamed and resumed", { timeout: 180_000 }, async () => {
    const thread = await createThread(stack, uniqueId("fig"));
    const ctx = await expectJson<{ id: string }>(stack.api("POST", `/v1/threads/${thread}/contexts`, { body: { language: "python" } }), 201);
    // Noise does not compress: 1000 x 1000 RGB is about 3 MB of PNG, 4 MB of base64, in the cell's final value.
    const code = [
      "import numpy as np, matplotlib",
      "matplotlib.use('Agg')",
      "import matplotlib.pyplot as plt",
      "fig = plt.figure(figsize=(10, 10), dpi=100)",
      "plt.figimage(np.random.default_rng(1).random((1000, 1000, 3)))",
      "fig",
    ].join("\n");
    const res = await stack.api("POST", `/v1/threads/${thread}/contexts/${ctx.id}/run`, { body: { code }, accept: SSE });
    const live: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(res)) live.push(event);
    const terminal = checkTerminal(live);
    if (terminal.type !== "result" || terminal.result.kind !== "cell") throw new Error(JSON.stringify(terminal).slice(0, 500));
    const cell: CellResult = terminal.result.value;
    expect(cell.ok, cell.error?.traceback).toBe(true);
    const png = cell.result?.["image/png"] ?? "";
    expect(png.length).toBeGreaterThan(2_000_000);

    expect(await record(thread, terminal.execution_id)).toMatchObject({ status: "succeeded" });
    const stored = await resumed(thread, terminal.execution_id);
    expect(stored.at(-1)).toEqual(terminal);
  });
});

