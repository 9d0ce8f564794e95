import type { BenchEnv } from "./environment.ts";
import type { Loop } from "./measure.ts";
import { type Options, iterations } from "./options.ts";
import type { Row } from "./report.ts";
import { type Summary, summarize } from "./stats.ts";

/** What every scenario gets: the running stack, the options, a logger, and loop sizes scaled for this run. */
export interface ScenarioContext {
  env: BenchEnv;
  options: Options;
  log: (msg: string) => void;
  /** A loop of `base` iterations (scaled; a tenth when quick) after `warmup` unrecorded ones, bounded by BENCH_LOOP_S. */
  loop(base: number, warmup?: number): Loop;
}

export interface Scenario {
  id: number;
  title: string;
  run(ctx: ScenarioContext): Promise<Row[]>;
}

export function scenarioContext(env: BenchEnv, options: Options, log: (msg: string) => void): ScenarioContext {
  return {
    env,
    options,
    log,
    loop: (base, warmup = 3) => ({
      warmup: options.quick ? Math.min(warmup, 1) : warmup,
      iterations: iterations(options, base),
      maxMs: options.loopS * 1000,
    }),
  };
}

/** A row from samples; `extra` values are rounded for the JSON. */
export function row(scenario: number, id: string, label: string, samples: number[] | Summary, extra?: Row["extra"]): Row {
  const stats = Array.isArray(samples) ? summarize(samples) : samples;
  const rounded = extra && Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, typeof v === "number" ? Math.round(v * 1000) / 1000 : v]));
  return { id, scenario, label, stats, ...(rounded ? { extra: rounded } : {}) };
}
