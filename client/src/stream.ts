import { type ExecutionEvent, ExecutionEventSchema, NdjsonParser, isTerminal } from "../../shared/src/index.ts";
import { ThreadboxError } from "./errors.ts";
import { NDJSON } from "./http.ts";
import { backoff, sleep } from "./options.ts";

const EXECUTION_ID_HEADER = "x-execution-id";

export interface StreamSource {
  /** Starts the stream: the execution request, or the first events request. */
  open(signal: AbortSignal | undefined): Promise<Response>;
  /** Events after `after` of an execution, live until it ends. */
  resume(executionId: string, after: number, signal: AbortSignal | undefined): Promise<Response>;
  cancel(executionId: string): Promise<boolean>;
  retries: { maxRetries: number; baseDelayMs: number; maxDelayMs: number };
  signal: AbortSignal | undefined;
  /** Known up front when reading an existing execution's events (then `open` is a read, retried like a resume). */
  executionId?: string;
  /** The seq `open` reads after (default -1: from the start). */
  after?: number;
}

/**
 * An execution's events as they happen (the shared `ExecutionEvent` union), read once with `for await`. A stream that
 * drops — a reset connection, a cut body, an end without a terminal event — is resumed from the last seq with
 * `GET …/executions/:id/events?after=<seq>`: no event is lost or seen twice. The iteration ends after the terminal
 * event (`result`, or `error` when the platform failed: that one is yielded, not thrown). Breaking out of the loop or
 * aborting the signal stops reading; the execution keeps running until it ends or `cancel()` is called.
 */
export class ExecutionStream implements AsyncIterable<ExecutionEvent> {
  readonly #source: StreamSource;
  #executionId: string | undefined;
  #read = false;

  constructor(source: StreamSource) {
    this.#source = source;
    this.#executionId = source.executionId;
  }

  /** The execution's id, once the server answered (from its `x-execution-id` header or the first event). */
  get executionId(): string | undefined {
    return this.#executionId;
  }

  /** Cancels the execution on the server (TERM, then KILL). Resolves whether a running execution was stopped. */
  async cancel(): Promise<boolean> {
    if (this.#executionId === undefined) throw new TypeError("the execution has not started yet: read its first event first");
    return this.#source.cancel(this.#executionId);
  }

  [Symbol.asyncIterator](): AsyncIterator<ExecutionEvent> {
    if (this.#read) throw new TypeError("an execution stream can be read once");
    this.#read = true;
    return this.#events();
  }

  async *#events(): AsyncGenerator<ExecutionEvent> {
    const { signal, retries } = this.#source;
    let lastSeq = this.#source.after ?? -1;
    const starts = this.#source.executionId === undefined;
    let failures = 0;
    let cause: unknown;
    for (let first = true; ; first = false) {
      if (!first) {
        failures += 1;
        if (this.#executionId === undefined || failures > retries.maxRetries) {
          throw new ThreadboxError({
            code: "STREAM_INTERRUPTED",
            status: 0,
            message: `the event stream of ${this.#executionId ?? "the execution"} broke and could not be resumed after ${failures - 1} attempts`,
            details: { execution_id: this.#executionId, last_seq: lastSeq },
            cause,
          });
        }
        await sleep(backoff(failures, retries.baseDelayMs, retries.maxDelayMs), signal);
      }
      let res: Response;
      try {
        res = first ? await this.#source.open(signal) : await this.#source.resume(this.#executionId as string, lastSeq, signal);
      } catch (err) {
        signal?.throwIfAborted();
        // The first request of an execution is not sent again (it would start a second run); a resume is a read.
        if ((first && starts) || !retryable(err)) throw err;
        cause = err;
        continue;
      }
      this.#executionId ??= res.headers.get(EXECUTION_ID_HEADER) ?? undefined;
      try {
        for await (const event of readNdjsonEvents(res)) {
          // Events read in one chunk arrive together: an abort between two of them stops here, not at the next read.
          signal?.throwIfAborted();
          this.#executionId ??= event.execution_id;
          if (event.seq <= lastSeq) continue;
          lastSeq = event.seq;
          failures = 0;
          yield event;
          if (isTerminal(event)) return;
        }
        cause = new Error("the stream ended before the execution's terminal event");
      } catch (err) {
        signal?.throwIfAborted();
        if (err instanceof ThreadboxError) throw err;
        cause = err; // a reset or cut connection: resume
      }
    }
  }
}

function retryable(err: unknown): boolean {
  if (!(err instanceof ThreadboxError)) return false;
  return err.code === "NETWORK_ERROR" || err.status === 429 || err.status >= 502;
}

/**
 * Events of an NDJSON answer. A last line without its newline is a cut connection, not an event (the server ends
 * every line), so it is dropped and the events after the last whole one are asked for again. Leaving early (break,
 * abort) cancels the body, which closes the connection.
 */
async function* readNdjsonEvents(res: Response): AsyncGenerator<ExecutionEvent> {
  const type = res.headers.get("content-type") ?? "";
  if (!type.includes(NDJSON) || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw ThreadboxError.invalidResponse(`expected an ${NDJSON} stream, got "${type}"`, res.status);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parser = new NdjsonParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      let values: unknown[];
      try {
        values = parser.push(decoder.decode(value, { stream: true }));
      } catch (err) {
        throw ThreadboxError.invalidResponse(err instanceof Error ? err.message : String(err), res.status, err);
      }
      for (const v of values) {
        const parsed = ExecutionEventSchema.safeParse(v);
        if (!parsed.success) throw ThreadboxError.invalidResponse(`not an execution event: ${parsed.error.message}`, res.status);
        yield parsed.data;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
