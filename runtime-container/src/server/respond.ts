import type { Context } from "hono";
import { streamFormatFromAccept, streamResponse, terminalValue } from "../../../shared/src/index.ts";
import type { ExecutionStream } from "../executions/stream.ts";

/** Answers an execution as JSON (the terminal value), SSE or NDJSON, as the client's Accept header asks. */
export async function respondWithExecution(c: Context, stream: ExecutionStream): Promise<Response> {
  const format = streamFormatFromAccept(c.req.header("accept"));
  if (format === "json") return c.json((await terminalValue(stream.events())) as object);
  return streamResponse(stream.events(), format, { "x-execution-id": stream.executionId });
}
