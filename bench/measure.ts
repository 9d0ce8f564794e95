/** Timing loops, each bounded in count and in wall time. */

export interface Loop {
  warmup: number;
  iterations: number;
  /** Wall-time bound for warm-up plus measurement; the loop stops early (with fewer samples) past it. */
  maxMs: number;
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const now = () => performance.now();

/** How long `fn` took, in ms; when it returns a number, that is its own measurement and is used instead. */
export async function timed(fn: () => Promise<number | void>): Promise<number> {
  const t0 = now();
  const own = await fn();
  return typeof own === "number" ? own : now() - t0;
}

/** Runs `fn` `warmup` times unrecorded, then up to `iterations` times recorded, never longer than `maxMs`. */
export async function sample(loop: Loop, fn: (i: number) => Promise<number | void>): Promise<number[]> {
  const deadline = now() + loop.maxMs;
  for (let i = 0; i < loop.warmup && now() < deadline; i++) await fn(-1 - i);
  const samples: number[] = [];
  for (let i = 0; i < loop.iterations && (samples.length === 0 || now() < deadline); i++) {
    samples.push(await timed(() => fn(i)));
  }
  return samples;
}

export interface FanOut<T> {
  /** Per-task latency (ms) of the tasks that succeeded. */
  latencies: number[];
  values: T[];
  errors: string[];
  /** From the first start to the last settle. */
  wallMs: number;
}

/** Starts `n` tasks at once and times each; a failure is counted, not thrown. */
export async function fanOut<T>(n: number, task: (i: number) => Promise<T>): Promise<FanOut<T>> {
  const t0 = now();
  const settled = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const start = now();
      try {
        const value = await task(i);
        return { ok: true as const, value, ms: now() - start };
      } catch (err) {
        return { ok: false as const, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  const wallMs = now() - t0;
  const out: FanOut<T> = { latencies: [], values: [], errors: [], wallMs };
  for (const s of settled) {
    if (s.ok) {
      out.latencies.push(s.ms);
      out.values.push(s.value);
    } else out.errors.push(s.error);
  }
  return out;
}

/** Rejects when `promise` has not settled within `ms` (a hung request must not hang the run). */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Round-robin sampling of several variants: one iteration of each per round, so load from other work on the host
 * falls on all of them alike instead of on whichever ran during a busy minute.
 */
export async function sampleEach<K extends string>(
  loop: Loop,
  variants: Record<K, (i: number) => Promise<number | void>>,
): Promise<Record<K, number[]>> {
  const names = Object.keys(variants) as K[];
  const out = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  const deadline = now() + loop.maxMs;
  for (let i = 0; i < loop.warmup && now() < deadline; i++) for (const n of names) await variants[n](-1 - i);
  for (let i = 0; i < loop.iterations && (i === 0 || now() < deadline); i++) {
    for (const n of names) out[n].push(await timed(() => variants[n](i)));
  }
  return out;
}
