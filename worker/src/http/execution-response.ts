import type { Context } from "hono";
import { type StreamFormat, streamFormatFromAccept, streamHeaders } from "../../../shared/src/index.ts";
import type { Answer } from "../do/answer.ts";

/** The client's format, as its Accept header asks (the thread's object encodes the answer in it). */
export const formatOf = (c: Context): StreamFormat => streamFormatFromAccept(c.req.header("accept"));

/** An execution's answer as the thread's object made it: a JSON value, or SSE/NDJSON bytes passed through. */
export function respondWith(c: Context, answer: Answer, executionId?: string): Response {
  if ("json" in answer) return new Response(answer.json, { headers: { "content-type": "application/json" } });
  const headers = { ...streamHeaders(answer.format), ...(executionId ? { "x-execution-id": executionId } : {}) };
  return new Response(answer.stream, { headers });
}
