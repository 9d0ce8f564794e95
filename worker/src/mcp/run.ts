import {
  AppError,
  type DisplayOutput,
  ErrorCode,
  displayOf,
  type ExecutionEvent,
  type ExecutionKind,
  type ResultPayload,
  kindSpec,
  newExecutionId,
  parseNdjsonStream,
} from "../../../shared/src/index.ts";
import { type ThreadTarget, fromRpc } from "../http/context.ts";
import type { ProgressReporter } from "./progress.ts";

/** A finished execution: its result event's payload and the rich outputs its stream carried. */
export interface Finished {
  payload: ResultPayload;
  displays: DisplayOutput[];
}

/** One line for the progress of an event that is not output. */
function note(event: ExecutionEvent): string {
  if (event.type === "install") return `[install ${event.phase}] ${event.message}\n`;
  if (event.type === "display") return `[${event.source}: ${event.mime}]\n`;
  return "";
}

/**
 * Runs an execution of `kind` exactly as its route does (routes/execute.ts): the same request for the thread's
 * object (run_code's python and bash delegated, the kind's summary), the same object call. It answers as NDJSON,
 * whose events go to `progress` as they arrive; the run's platform error is thrown as the AppError it is.
 */
export async function runExecution(
  target: ThreadTarget,
  kind: ExecutionKind,
  body: unknown,
  opts: { params?: Record<string, string>; progress?: ProgressReporter | undefined } = {},
): Promise<Finished> {
  const spec = kindSpec(kind);
  const delegated = spec.delegate?.(body) ?? null;
  const req = { kind, body, summary: spec.summary(body), ...(opts.params ? { params: opts.params } : {}), ...delegated, executionId: newExecutionId() };
  const answer = await fromRpc(target.stub.submit(target.access, req, "ndjson", target.createAs));
  if (!("stream" in answer)) throw new AppError(ErrorCode.INTERNAL_ERROR, "the thread answered an execution without its events");
  const displays: DisplayOutput[] = [];
  try {
    for await (const value of parseNdjsonStream(answer.stream)) {
      // Encoded by the thread's object from events it parsed and recorded: not parsed a second time here.
      const event = value as ExecutionEvent;
      if (event.type === "stdout" || event.type === "stderr") opts.progress?.add(event.data, event.seq);
      else opts.progress?.add(note(event), event.seq);
      if (event.type === "display") displays.push(displayOf(event));
      if (event.type === "result") return { payload: event.result, displays };
      if (event.type === "error") throw new AppError(event.code, event.message, event.details);
    }
  } finally {
    await opts.progress?.close();
  }
  throw new AppError(ErrorCode.RUNTIME_UNAVAILABLE, "the execution stream ended before the execution finished");
}
