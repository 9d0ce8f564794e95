/** Pure statistics for the benchmark: percentiles, summaries and ratios of millisecond samples. */

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

/** The q-th percentile (0–100) of `samples`, linearly interpolated between closest ranks (numpy's default). */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  if (q < 0 || q > 100) throw new RangeError(`percentile must be within 0–100, got ${q}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

/** Rounds to 2 decimals (JSON and tables stay readable; sub-10 µs noise means nothing here). */
export const round2 = (v: number) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : v);

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { n: 0, min: NaN, p50: NaN, p95: NaN, p99: NaN, mean: NaN, max: NaN };
  const sum = samples.reduce((s, v) => s + v, 0);
  return {
    n: samples.length,
    min: round2(Math.min(...samples)),
    p50: round2(percentile(samples, 50)),
    p95: round2(percentile(samples, 95)),
    p99: round2(percentile(samples, 99)),
    mean: round2(sum / samples.length),
    max: round2(Math.max(...samples)),
  };
}

/** a / b, NaN when either is missing or b is zero. */
export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return round2(a / b);
}

/** a − b in ms, NaN when either is missing. */
export function delta(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return Number.NaN;
  return round2(a - b);
}
