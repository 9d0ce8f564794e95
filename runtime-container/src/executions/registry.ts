import { AppError, ErrorCode, type EventBody, type ExecutionKind, type ResultPayload, toAppError, newExecutionId, RESULT_KINDS } from "../../../shared/src/index.ts";
import type { Logger } from "../logger.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { ExecutionStream } from "./stream.ts";

export interface ExecutionContext {
  executionId: string;
  signal: AbortSignal;
  emit(body: EventBody): void;
  logger: Logger;
}

interface Running {
  threadKey: string;
  controller: AbortController;
  /** Settles when the work has ended: its processes are dead and their uid sweep done (the runner awaits both). */
  done: Promise<void>;
}

/**
 * Starts executions and tracks the running ones so they can be cancelled. Each execution emits `start`, its output,
 * then exactly one `result` (the work's value, including user code that failed) or `error` (the platform failed).
 */
export class ExecutionRegistry {
  private readonly running = new Map<string, Running>();
  /** Threads being deleted (how many deletions are under way): nothing new starts in them until they are open again. */
  private readonly closed = new Map<string, number>();

  constructor(private readonly logger: Logger) {}

  get size(): number {
    return this.running.size;
  }

  start(
    kind: ExecutionKind,
    loc: WorkspaceLocation,
    requestedId: string | undefined,
    work: (ctx: ExecutionContext) => Promise<ResultPayload>,
  ): ExecutionStream {
    const executionId = requestedId ?? newExecutionId();
    if (this.running.has(executionId)) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, `execution ${executionId} is already running`);
    }
    if (this.closed.has(loc.key)) {
      throw new AppError(ErrorCode.THREAD_BUSY, `thread ${loc.thread} is being deleted; nothing new starts in it`);
    }
    const stream = new ExecutionStream(executionId);
    const controller = new AbortController();
    const logger = this.logger.child({ thread_id: loc.thread, tenant: loc.tenant, execution_id: executionId, kind });
    const running: Running = { threadKey: loc.key, controller, done: Promise.resolve() };
    this.running.set(executionId, running);
    stream.emit({ type: "start", kind, thread_id: loc.thread, started_at: new Date().toISOString() });
    const started = performance.now();
    const ctx: ExecutionContext = { executionId, signal: controller.signal, emit: (b) => stream.emit(b), logger };

    running.done = work(ctx)
      .then((result) => {
        // Ended by failAll: the platform failed under the work, whatever the work made of being stopped.
        if (controller.signal.reason instanceof AppError) throw controller.signal.reason;
        stream.emit({ type: "result", result });
        logger.info("execution finished", { duration_ms: Math.round(performance.now() - started), ...logFields(result) });
      })
      .catch((err: unknown) => {
        const error = toAppError(err);
        if (error.code === ErrorCode.INTERNAL_ERROR) logger.error("execution failed", { error: String(err) });
        else logger.warn("execution failed", { code: error.code, message: error.message });
        stream.emit({ type: "error", code: error.code, message: error.message, details: error.details });
      })
      .finally(() => this.running.delete(executionId));
    return stream;
  }

  cancel(executionId: string): boolean {
    const run = this.running.get(executionId);
    if (!run) return false;
    run.controller.abort();
    return true;
  }

  /**
   * Cancels every execution of the thread and resolves once each has ended: its process trees killed (TERM, the
   * kill grace, KILL) and dead, and its uid swept. A thread is deleted only after that.
   */
  async cancelThread(threadKey: string): Promise<void> {
    const runs = [...this.running.values()].filter((run) => run.threadKey === threadKey);
    for (const run of runs) run.controller.abort();
    await Promise.all(runs.map((run) => run.done));
  }

  /** Refuses new executions of the thread (THREAD_BUSY) until `open`: its deletion is under way. */
  close(threadKey: string): void {
    this.closed.set(threadKey, (this.closed.get(threadKey) ?? 0) + 1);
  }

  open(threadKey: string): void {
    const left = (this.closed.get(threadKey) ?? 1) - 1;
    if (left > 0) this.closed.set(threadKey, left);
    else this.closed.delete(threadKey);
  }

  cancelAll(): void {
    for (const run of this.running.values()) run.controller.abort();
  }

  /** Stops every running execution and ends each with `error` instead of its result. */
  failAll(error: AppError): void {
    for (const run of this.running.values()) run.controller.abort(error);
  }
}

/** What the log line of a finished execution says about its result (from the kinds table). */
function logFields(result: ResultPayload): Record<string, unknown> {
  return (RESULT_KINDS[result.kind].log as (v: unknown) => Record<string, unknown>)(result.value);
}
