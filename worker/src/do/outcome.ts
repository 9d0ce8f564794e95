import { type ExecutionEvent, type ExecutionStatus, outcomeOfResult } from "../../../shared/src/index.ts";

/** What a terminal event means for the execution's record: a result's meaning comes from the kinds table. */
export function outcomeOf(event: ExecutionEvent): { status: ExecutionStatus; exit_code: number | null; error_code: string | null } {
  if (event.type === "error") {
    return { status: event.code === "EXECUTION_CANCELLED" ? "cancelled" : "error", exit_code: null, error_code: event.code };
  }
  if (event.type !== "result") throw new Error(`${event.type} is not a terminal event`);
  return outcomeOfResult(event.result);
}
