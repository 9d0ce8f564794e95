import { type ExecutionEvent, type StreamFormat, eventStream, terminalValue } from "../../../shared/src/index.ts";

/**
 * What the thread's object answers an execution with, in the client's format, so the worker passes it on as it is
 * (JSON text, or encoded events): the events are parsed once, where they are recorded.
 */
export type Answer = { json: string } | { stream: ReadableStream<Uint8Array>; format: Exclude<StreamFormat, "json"> };

/** JSON: the terminal value (a platform error is thrown as its AppError); else the events encoded as they come. */
export async function answer(events: AsyncIterableIterator<ExecutionEvent>, format: StreamFormat): Promise<Answer> {
  if (format === "json") return { json: JSON.stringify(await terminalValue(events)) };
  return { stream: eventStream(events, format), format };
}

/** Every event (stored, then live until the end) as one JSON document, or streamed. */
export async function eventLog(executionId: string, events: AsyncIterableIterator<ExecutionEvent>, format: StreamFormat): Promise<Answer> {
  if (format !== "json") return answer(events, format);
  const all: ExecutionEvent[] = [];
  for await (const event of events) all.push(event);
  return { json: JSON.stringify({ execution_id: executionId, events: all }) };
}
