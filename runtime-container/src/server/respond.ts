import type { Context } from "hono";
import {
  AppError,
  type ExecutionEvent,
  encodeNdjson,
  encodeSseEvent,
  sseComment,
  streamFormatFromAccept,
} from "../../../shared/src/index.ts";
import type { ExecutionStream } from "../executions/stream.ts";

const HEARTBEAT_MS = 15_000;

/**
 * Answers an execution in the format the client asked for: JSON (the terminal value; a platform error becomes the
 * HTTP error), SSE (`id: seq`, heartbeats) or NDJSON, passing events through as they happen.
 */
export async function respondWithExecution(c: Context, stream: ExecutionStream): Promise<Response> {
  const format = streamFormatFromAccept(c.req.header("accept"));
  if (format === "json") {
    for await (const event of stream.events()) {
      if (event.type === "result") return c.json(event.result.value);
      if (event.type === "error") throw new AppError(event.code, event.message, event.details);
    }
    throw new Error("execution stream ended without a terminal event");
  }
  const encode = format === "sse" ? encodeSseEvent : (e: ExecutionEvent) => encodeNdjson(e);
  const encoder = new TextEncoder();
  const events = stream.events();
  let heartbeat: NodeJS.Timeout | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (format !== "sse") return;
      heartbeat = setInterval(() => controller.enqueue(encoder.encode(sseComment("heartbeat"))), HEARTBEAT_MS);
    },
    async pull(controller) {
      const next = await events.next();
      if (next.done) {
        clearInterval(heartbeat);
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(encode(next.value)));
    },
    cancel() {
      // The client left; the execution goes on (cancel is explicit) and its stream is simply not read.
      clearInterval(heartbeat);
    },
  });
  return new Response(body, {
    headers: {
      "content-type": format === "sse" ? "text/event-stream; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-execution-id": stream.executionId,
    },
  });
}
