import { issue8Goals } from "./goals-issue8.ts";
import { issue18Goals } from "./goals-issue18.ts";
import type { GoalResult, Row } from "./report.ts";

/**
 * The issues' goals, judged on rows measured in the same run: issue 18's table (speed) first, then issue 8's older
 * goals, kept so runs stay comparable. A goal whose rows are missing (its scenario did not run) is unknown, never met.
 */
/** Every goal of this run: issue 18's first (the current ones), then issue 8's. */
export function evaluateGoals(rows: Row[], backends: readonly string[]): GoalResult[] {
  return [...issue18Goals(rows, backends), ...issue8Goals(rows, backends)];
}
