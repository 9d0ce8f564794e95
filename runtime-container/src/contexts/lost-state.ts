import type { CellError } from "../../../shared/src/index.ts";

/** Why a cell ended without an answer from its interpreter (whose state is gone with it). */
export type LostStateCause = "quota" | "restart" | "timeout" | "died";

const VALUES: Record<LostStateCause, { type: string; value: string }> = {
  quota: {
    type: "DiskQuotaExceeded",
    value: "the thread went over its disk quota: the interpreter was stopped and its state is lost (see stderr); free space to go on",
  },
  restart: { type: "Restarted", value: "the context was restarted during the cell (POST …/restart): a fresh interpreter has empty state" },
  timeout: { type: "TimeoutError", value: "the cell timed out and the interpreter did not stop: it was restarted, its state is lost" },
  died: {
    type: "InterpreterDied",
    value: "the interpreter exited during the cell (a crash, an exit call or out of memory): its state is lost and a fresh one starts on the next call",
  },
};

/** The cell error for a cell whose interpreter went away under it. */
export function lostStateError(cause: LostStateCause): CellError {
  return { ...VALUES[cause], traceback: "", line: null };
}
