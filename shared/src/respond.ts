import { AppError } from "./errors.ts";
import type { ExecutionEvent } from "./events.ts";
import type { DisplayOutput } from "./exec.ts";
import { displayOf } from "./screenshots.ts";
import { encodeNdjson } from "./ndjson.ts";
import { type StreamFormat } from "./runtime-api.ts";
import { encodeSseEvent, sseComment } from "./sse.ts";

const HEARTBEAT_MS = 15_000;

/**
 * The terminal value of an execution: its `result` value, or its platform `error` thrown as an AppError (so a JSON
 * answer carries the error's HTTP status). A stream that ends without a terminal event never counts as success.
 * A JSON answer has no other events, so the rich outputs (figures, screenshots) come along in `displays`.
 */
export async function terminalValue(events: AsyncIterable<ExecutionEvent>): Promise<unknown> {
  const displays: DisplayOutput[] = [];
  for await (const event of events) {
    if (event.type === "display") displays.push(displayOf(event));
    if (event.type === "result") {
      const value = event.result.value;
      return displays.length > 0 && typeof value === "object" && value !== null ? { ...value, displays } : value;
    }
    if (event.type === "error") throw new AppError(event.code, event.message, event.details);
  }
  throw new AppError("RUNTIME_UNAVAILABLE", "the execution stream ended before the execution finished");
}

/** The headers of a streaming answer in `format`. */
export function streamHeaders(format: Exclude<StreamFormat, "json">): Record<string, string> {
  return {
    "content-type": format === "sse" ? "text/event-stream; charset=utf-8" : "application/x-ndjson; charset=utf-8",
    "cache-control": "no-cache, no-transform",
  };
}

/**
 * Events encoded as they arrive: SSE (`id: seq`, `event: type`, a heartbeat comment every 15 s) or NDJSON. The one
 * encoder of the wire format, used by the runtime and by the thread's Durable Object alike.
 */
export function eventStream(events: AsyncIterable<ExecutionEvent>, format: Exclude<StreamFormat, "json">): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator = events[Symbol.asyncIterator]();
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (format !== "sse") return;
      heartbeat = setInterval(() => controller.enqueue(encoder.encode(sseComment("heartbeat"))), HEARTBEAT_MS);
    },
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) {
          clearInterval(heartbeat);
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(format === "sse" ? encodeSseEvent(next.value) : encodeNdjson(next.value)));
      } catch (err) {
        clearInterval(heartbeat);
        controller.error(err);
      }
    },
    async cancel() {
      // The client left. What the execution does next is the producer's business (it keeps running).
      clearInterval(heartbeat);
      await iterator.return?.();
    },
  });
}

/** A streaming answer (SSE or NDJSON) that passes events through as they arrive. */
export function streamResponse(
  events: AsyncIterable<ExecutionEvent>,
  format: Exclude<StreamFormat, "json">,
  headers: Record<string, string> = {},
): Response {
  return new Response(eventStream(events, format), { headers: { ...streamHeaders(format), ...headers } });
}
