import type { Context } from "hono";
import {
  type ExecutionEvent,
  parseEvent,
  parseNdjsonStream,
  streamFormatFromAccept,
  streamResponse,
  terminalValue,
} from "../../../shared/src/index.ts";

async function* events(ndjson: ReadableStream<Uint8Array>): AsyncGenerator<ExecutionEvent> {
  for await (const value of parseNdjsonStream(ndjson)) yield parseEvent(value);
}

/**
 * Turns a thread's event stream (NDJSON from its Durable Object) into the client's format: the terminal value as
 * JSON, or SSE/NDJSON passed through event by event as they arrive.
 */
export async function respondWithEvents(c: Context, ndjson: ReadableStream<Uint8Array>, executionId?: string): Promise<Response> {
  const format = streamFormatFromAccept(c.req.header("accept"));
  if (format === "json") return c.json((await terminalValue(events(ndjson))) as object);
  return streamResponse(events(ndjson), format, executionId ? { "x-execution-id": executionId } : {});
}
