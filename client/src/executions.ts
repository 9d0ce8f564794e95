import { z } from "zod";
import { type ExecutionRecord, ExecutionRecordSchema } from "../../shared/src/index.ts";
import { NDJSON, seg } from "./http.ts";
import type { CallOptions } from "./options.ts";
import type { ThreadScope } from "./scope.ts";
import { ExecutionStream } from "./stream.ts";

const ExecutionListSchema = z.object({ executions: z.array(ExecutionRecordSchema) });

/** The thread's execution history: records, event logs (live until the end, resumable) and cancel. */
export class Executions {
  readonly #scope: ThreadScope;

  constructor(scope: ThreadScope) {
    this.#scope = scope;
  }

  /** The most recent executions first (`limit` 1–200, default 50). */
  async list(opts: CallOptions & { limit?: number } = {}): Promise<ExecutionRecord[]> {
    const query = opts.limit === undefined ? "" : `?limit=${opts.limit}`;
    const { executions } = await this.#scope.http.json(ExecutionListSchema, "GET", this.#scope.path(`/executions${query}`), { signal: opts.signal });
    return executions;
  }

  get(id: string, opts: CallOptions = {}): Promise<ExecutionRecord> {
    return this.#scope.http.json(ExecutionRecordSchema, "GET", this.#scope.path(`/executions/${seg(id)}`), { signal: opts.signal });
  }

  /**
   * An execution's events after `after` (default: all), the stored ones then live ones until it ends, as a stream
   * that resumes itself when the connection drops.
   */
  events(id: string, opts: CallOptions & { after?: number } = {}): ExecutionStream {
    const request = (after: number, signal: AbortSignal | undefined) =>
      this.#scope.http.request("GET", this.#scope.path(`/executions/${seg(id)}/events?after=${after}`), { accept: NDJSON, signal });
    return new ExecutionStream({
      executionId: id,
      after: opts.after ?? -1,
      open: (signal) => request(opts.after ?? -1, signal),
      resume: (_id, after, signal) => request(after, signal),
      cancel: (executionId) => this.#scope.cancel(executionId),
      retries: this.#scope.http.resume,
      signal: opts.signal,
    });
  }

  /** Cancels a queued or running execution; resolves whether one was stopped (false: it had already ended). */
  cancel(id: string, opts: CallOptions = {}): Promise<boolean> {
    return this.#scope.cancel(id, opts.signal);
  }
}
