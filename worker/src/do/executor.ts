import {
  AppError,
  EXECUTION_ID_HEADER,
  EXECUTION_KINDS,
  ErrorCode,
  type EventBody,
  type ExecutionEvent,
  type ExecutionKind,
  fillPath,
  isTerminal,
  parseEvent,
  parseNdjsonStream,
  runtimePaths,
  runtimeThreadPath,
  threadRef,
} from "../../../shared/src/index.ts";
import type { RuntimeClient } from "../runtime/client.ts";
import type { LiveEvents } from "./live.ts";
import { outcomeOf } from "./outcome.ts";
import type { ThreadPlacement } from "./placement.ts";
import type { ThreadRow, ThreadStore } from "./store.ts";

/** An execution as the worker hands it to the thread's object: a row of the kinds table, already validated. */
export interface ExecuteRequest {
  kind: ExecutionKind;
  body: unknown;
  summary: string;
  executionId: string;
  /** The kind's path parameters (a cell's context id). */
  params?: Record<string, string>;
}

/** Where the runtime runs an execution of this thread: the kind's path below the thread's. */
function runtimePath(thread: ThreadRow, req: ExecuteRequest): string {
  return `${runtimeThreadPath(threadRef(thread.tenant, thread.id))}/${fillPath(EXECUTION_KINDS[req.kind].path, req.params)}`;
}

/**
 * One execution at a time per thread, a bounded queue behind it. Each execution's events come from the runtime as
 * NDJSON, are recorded (bounded) and published to live readers; a runtime lost mid-way ends the execution with
 * RUNTIME_UNAVAILABLE, never with a made-up success. Recording never fails the run: storage is this object's own
 * business, so an event it cannot store is still published, never blamed on the runtime (see unstored()).
 */
export class Executor {
  private readonly queue: string[] = [];
  private running: string | null = null;
  /** The runtime the running execution was sent to (its cancel goes there, wherever the thread is by then). */
  private runningOn: string | null = null;

  constructor(
    private readonly store: ThreadStore,
    private readonly live: LiveEvents,
    private readonly placement: ThreadPlacement,
    private readonly runtime: RuntimeClient,
    private readonly queueMax: number,
    private readonly onIdle: () => void,
  ) {}

  get busy(): boolean {
    return this.running !== null || this.queue.length > 0;
  }

  /** After a restart nothing is running here any more: say so in each unfinished execution. */
  recover(): void {
    for (const id of this.store.withStatus("running", "queued")) {
      this.terminate(id, ErrorCode.RUNTIME_UNAVAILABLE, "the execution was interrupted: its thread's state restarted");
    }
  }

  /** Queues the execution; returns its events (live) from the start. */
  submit(thread: ThreadRow, req: ExecuteRequest): AsyncIterableIterator<ExecutionEvent> {
    const waiting = this.queue.length + (this.running ? 1 : 0);
    if (waiting > this.queueMax) {
      const retryAfter = Math.min(60, 2 * waiting);
      throw new AppError(ErrorCode.THREAD_BUSY, `thread ${thread.id} already has ${waiting} executions running or queued`, {
        retry_after: retryAfter,
      });
    }
    const id = req.executionId;
    if (this.store.execution(id)) throw new AppError(ErrorCode.VALIDATION_FAILED, `execution id ${id} is already used`);
    const now = new Date().toISOString();
    this.store.insertExecution({ id, kind: req.kind, summary: req.summary, request: JSON.stringify(req), created_at: now });
    this.store.touch(now);
    const events = this.live.follow(id, [], false);
    this.queue.push(id);
    void this.pump(thread);
    return events;
  }

  /** Cancels a queued execution at once, or asks the runtime to kill a running one's process tree. */
  async cancel(thread: ThreadRow, id: string): Promise<{ execution_id: string; cancelled: boolean }> {
    const record = this.store.execution(id);
    if (!record) throw new AppError(ErrorCode.EXECUTION_NOT_FOUND, `no execution ${id} in this thread`);
    const queuedAt = this.queue.indexOf(id);
    if (queuedAt >= 0) {
      this.queue.splice(queuedAt, 1);
      this.terminate(id, ErrorCode.EXECUTION_CANCELLED, "cancelled before it started");
      return { execution_id: id, cancelled: true };
    }
    if (this.running !== id) return { execution_id: id, cancelled: false };
    const url = this.runningOn ?? thread.runtime_url;
    const res = await this.runtime.json<{ cancelled: boolean }>(url, { method: "POST", path: runtimePaths.cancel(id) });
    return { execution_id: id, cancelled: res.cancelled };
  }

  /** Ends every unfinished execution (thread deletion). */
  abandon(message: string): void {
    this.queue.length = 0;
    for (const id of this.store.withStatus("running", "queued")) this.terminate(id, ErrorCode.EXECUTION_CANCELLED, message);
  }

  private async pump(thread: ThreadRow): Promise<void> {
    if (this.running) return;
    for (let id = this.queue.shift(); id !== undefined; id = this.queue.shift()) {
      this.running = id;
      try {
        await this.run(thread, id);
      } finally {
        this.running = null;
        this.runningOn = null;
      }
    }
    this.onIdle();
  }

  private async run(thread: ThreadRow, id: string): Promise<void> {
    const raw = this.store.request(id);
    if (!raw) return;
    const req = JSON.parse(raw) as ExecuteRequest;
    this.store.setStarted(id, new Date().toISOString());
    let lastSeq = -1;
    let ended = false;
    const record = (event: ExecutionEvent) => {
      lastSeq = event.seq;
      ended = this.record(event);
    };
    try {
      // Never replayed: once sent, an execution may have run (see RuntimeHealth.verdict).
      const { url, res } = await this.placement.call(
        {
          method: "POST",
          path: runtimePath(thread, req),
          body: JSON.stringify(req.body),
          headers: { accept: "application/x-ndjson", [EXECUTION_ID_HEADER]: id },
        },
        false,
      );
      this.runningOn = url;
      try {
        await this.follow(res, record, () => ended);
      } catch (err) {
        // Only the stream can fail here (record() does not throw): the runtime's connection, or its events.
        this.placement.failed(url);
        throw err;
      }
    } catch (err) {
      if (ended) return;
      const e =
        err instanceof AppError
          ? err
          : new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `lost the runtime mid-execution (${String(err)}); it is not run again`);
      record(this.stamp(id, lastSeq + 1, { type: "error", code: e.code, message: e.message, details: e.details }));
    } finally {
      this.store.touch(new Date().toISOString());
    }
  }

  /** Records the runtime's events until the terminal one; a stream that stops short is the runtime lost mid-way. */
  private async follow(res: Response, record: (event: ExecutionEvent) => void, ended: () => boolean): Promise<void> {
    if (!res.body) throw new AppError(ErrorCode.RUNTIME_UNAVAILABLE, "the runtime answered without a body");
    for await (const value of parseNdjsonStream(res.body)) {
      record(parseEvent(value));
      if (ended()) return;
    }
    throw new AppError(ErrorCode.RUNTIME_UNAVAILABLE, "the runtime stopped before the execution finished; it is not run again");
  }

  /** Stores and publishes one event; returns whether it ended the execution. Never throws for storage. */
  private record(event: ExecutionEvent): boolean {
    const terminal = isTerminal(event);
    try {
      this.store.appendEvent(event, terminal, terminal ? { ...outcomeOf(event), at: new Date().toISOString() } : undefined);
    } catch (err) {
      this.unstored(event, terminal, err);
    }
    this.live.publish(event);
    return terminal;
  }

  /**
   * An event this object could not store (a bug: the store keeps every size the schemas allow). Live readers still
   * get it. The stored log says what is missing: a skipped event marks the log truncated; a terminal one is replaced
   * by an INTERNAL_ERROR that says the run finished, so a reader who resumes later is not told a story of an outage.
   */
  private unstored(event: ExecutionEvent, terminal: boolean, err: unknown): void {
    const id = event.execution_id;
    console.error(JSON.stringify({ level: "error", msg: "event not stored", execution_id: id, seq: event.seq, type: event.type, error: String(err) }));
    try {
      if (!terminal) return this.store.markTruncated(id, event.seq);
      const message = `the run finished (its ${event.type} was sent live) but could not be stored: ${String(err)}; it is not run again`;
      const standIn = this.stamp(id, event.seq, { type: "error", code: ErrorCode.INTERNAL_ERROR, message });
      this.store.appendEvent(standIn, true, { ...outcomeOf(standIn), at: new Date().toISOString() });
    } catch (again) {
      console.error(JSON.stringify({ level: "error", msg: "execution record not updated", execution_id: id, error: String(again) }));
    }
  }

  private terminate(id: string, code: ErrorCode, message: string): void {
    const seq = (this.store.execution(id)?.last_seq ?? -1) + 1;
    this.record(this.stamp(id, seq, { type: "error", code, message }));
  }

  private stamp(id: string, seq: number, body: EventBody): ExecutionEvent {
    return { ...body, seq, execution_id: id } as ExecutionEvent;
  }
}
