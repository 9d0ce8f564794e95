import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Machine } from "./machine.ts";
import type { Options } from "./options.ts";
import type { Summary } from "./stats.ts";

/** One measured line of the results: a stable id (goals and comparisons key on it), a label, ms statistics. */
export interface Row {
  id: string;
  scenario: number;
  label: string;
  stats: Summary;
  /** What else this line measured: success rate, throughput, RSS, a layer's added ms. */
  extra?: Record<string, number | string>;
}

export interface GoalResult {
  /** The issue that set the goal (18: speed; 8: the harness's first goals). */
  issue: number;
  id: string;
  goal: string;
  /** The measured value the goal is judged on, in `unit`. */
  value: number;
  unit: string;
  target: string;
  /** null: a ratio the issue asks to report, with no threshold. */
  met: boolean | null;
  /** The rows the value was computed from, for the reader. */
  note?: string;
}

export interface BenchResult {
  schema: 1;
  started_at: string;
  finished_at: string;
  duration_s: number;
  options: Options;
  machine: Machine;
  rows: Row[];
  goals: GoalResult[];
  /** Each scenario that ran: how long it took, and the host's load when it started (others' work skews numbers). */
  scenarios: { id: number; title: string; seconds: number; loadavg_start: number[] }[];
  /** Scenarios that failed to run, with the reason: a partial run still writes what it measured. */
  failures: { scenario: number; error: string }[];
}

/** Writes latest.json and a dated copy (`<ISO date>.json`, colons made file-name safe); returns both paths. */
export async function writeResults(dir: string, result: BenchResult): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  const dated = path.join(dir, `${result.started_at.replace(/:/g, "-").replace(/\.\d+Z$/, "Z")}.json`);
  const latest = path.join(dir, "latest.json");
  await writeFile(dated, json);
  await writeFile(latest, json);
  return [latest, dated];
}
