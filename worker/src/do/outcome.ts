import type { ExecutionEvent, ExecutionStatus } from "../../../shared/src/index.ts";

/** What a terminal event means for the execution's record. */
export function outcomeOf(event: ExecutionEvent): { status: ExecutionStatus; exit_code: number | null; error_code: string | null } {
  if (event.type === "error") {
    return { status: event.code === "EXECUTION_CANCELLED" ? "cancelled" : "error", exit_code: null, error_code: event.code };
  }
  if (event.type !== "result") throw new Error(`${event.type} is not a terminal event`);
  if (event.result.kind === "exec") {
    const v = event.result.value;
    const status = v.canceled ? "cancelled" : v.exit_code === 0 && !v.timed_out && !v.truncated ? "succeeded" : "failed";
    return { status, exit_code: v.exit_code, error_code: v.timed_out ? "EXECUTION_TIMEOUT" : null };
  }
  if (event.result.kind === "cell") {
    const v = event.result.value;
    return { status: v.ok ? "succeeded" : "failed", exit_code: null, error_code: v.timed_out ? "EXECUTION_TIMEOUT" : (v.error?.type ?? null) };
  }
  if (event.result.kind === "install") {
    const v = event.result.value;
    return { status: v.ok ? "succeeded" : "failed", exit_code: null, error_code: v.ok ? null : "PACKAGE_INSTALL_FAILED" };
  }
  const m = event.result.value.metadata;
  return {
    status: event.result.value.is_error ? "failed" : "succeeded",
    exit_code: m.exit_code,
    error_code: m.error_code ?? null,
  };
}
