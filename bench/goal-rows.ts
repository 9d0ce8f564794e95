import type { Row } from "./report.ts";

/** Reading rows for goals: a row's p50 or extra by id (undefined when its scenario did not run), and the judging. */

export const p50 = (rows: Row[], id: string) => rows.find((r) => r.id === id)?.stats.p50;
export const extra = (rows: Row[], id: string, key: string) => {
  const v = rows.find((r) => r.id === id)?.extra?.[key];
  return typeof v === "number" ? v : undefined;
};
export const num = (v: number | undefined) => v ?? Number.NaN;

/** met is null when a value is missing (the scenario did not run): unknown, never "met". */
export const judge = (value: number, ok: (v: number) => boolean): boolean | null => (Number.isFinite(value) ? ok(value) : null);

export const MS = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "-" : `${v.toFixed(1)} ms`);
export const X = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : "-");
