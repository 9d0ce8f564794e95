import type { GoalResult, Row } from "./report.ts";

/** Plain-text tables for the terminal and for pasting into BENCHMARKS.md (GitHub-flavoured markdown). */

/** Aligns cells into a markdown table; numeric-looking cells are right-aligned. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+( ?[%×a-z/]+)?$|^-$/.test(r[i] ?? "")));
  const cell = (text: string, i: number) => (numeric[i] ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0));
  const line = (cells: string[]) => `| ${cells.map((c, i) => cell(c, i)).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
  return [line(headers), rule, ...rows.map((r) => line(headers.map((_, i) => r[i] ?? "")))].join("\n");
}

/** A number for a table: NaN and missing as "-", otherwise up to `digits` decimals. */
export function fmt(v: number | string | undefined, digits = 1): string {
  if (v === undefined) return "-";
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return "-";
  return Math.abs(v) >= 1000 ? Math.round(v).toString() : v.toFixed(digits);
}

const extras = (extra: Row["extra"]) =>
  Object.entries(extra ?? {})
    .map(([k, v]) => `${k}=${fmt(v, 2)}`)
    .join(", ");

export function resultsTable(rows: Row[]): string {
  return formatTable(
    ["#", "measurement", "n", "p50 ms", "p95 ms", "p99 ms", "notes"],
    rows.map((r) => [String(r.scenario), r.label, String(r.stats.n), fmt(r.stats.p50), fmt(r.stats.p95), fmt(r.stats.p99), extras(r.extra)]),
  );
}

export function goalsTable(goals: GoalResult[]): string {
  const status = (met: boolean | null, target: string) => (met === null ? (target.startsWith("report") ? "reported" : "unknown") : met ? "met" : "NOT met");
  return formatTable(
    ["issue", "goal", "value", "target", "status", "from"],
    goals.map((g) => [String(g.issue), g.goal, `${fmt(g.value, 2)} ${g.unit}`, g.target, status(g.met, g.target), g.note ?? ""]),
  );
}
