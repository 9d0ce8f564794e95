import { z } from "zod";

/**
 * Benchmark options, parsed once from the environment and `--name=value` flags (flags win):
 *   BENCH_QUICK=1 / --quick        a fast smoke run: a tenth of the iterations, small bursts
 *   BENCH_SCALE=2 / --scale=2      multiplies every iteration count (default 1)
 *   BENCH_SCENARIOS=1,3 / --only=1,3   run only these scenarios
 *   BENCH_BACKENDS=proot,bwrap / --backends=proot   isolation backends to measure
 *   BENCH_BURST=50, BENCH_CONCURRENCY=64   sizes of scenario 2's burst and scenario 6's fan-out
 *   BENCH_LOOP_S=60                 wall-time bound of any one measurement loop
 *   BENCH_OUT=bench/results         where latest.json and the dated copy go
 *   BENCH_LABEL="before the fix"    free text recorded with the results (what code was measured)
 *   BENCH_PROOT_ALT=/path/to/proot  another proot build: the runtime's exact proot command is also replayed with it
 *                                   (scenarios 1 and 4), e.g. a proot 5.4 with its seccomp accelerator
 *   BENCH_RUNTIME_PROOT=/path/to/proot  the proot runtime itself uses this build (its PROOT_BIN): every proot row
 *                                   measures it; label such a run (BENCH_LABEL)
 */
const bool = z.enum(["1", "0", "true", "false", "yes", "no"]).transform((v) => ["1", "true", "yes"].includes(v));
const list = z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));

const OptionsSchema = z.object({
  quick: bool.default(false),
  scale: z.coerce.number().positive().max(100).default(1),
  scenarios: list.pipe(z.array(z.string().regex(/^[1-8]$/, "scenarios are 1–8").transform(Number))).default([1, 2, 3, 4, 5, 6, 7, 8]),
  backends: list.pipe(z.array(z.enum(["proot", "bwrap"])).min(1)).default(["proot", "bwrap"]),
  burst: z.coerce.number().int().min(1).max(500).optional(),
  concurrency: z.coerce.number().int().min(1).max(500).optional(),
  loopS: z.coerce.number().positive().max(3600).default(60),
  out: z.string().min(1).default("bench/results"),
  label: z.string().max(200).default(""),
  prootAlt: z.string().startsWith("/", "BENCH_PROOT_ALT must be an absolute path").optional(),
  runtimeProot: z.string().startsWith("/", "BENCH_RUNTIME_PROOT must be an absolute path").optional(),
});

export type Options = z.infer<typeof OptionsSchema> & { burst: number; concurrency: number };

const ENV: Record<string, string> = {
  BENCH_QUICK: "quick",
  BENCH_SCALE: "scale",
  BENCH_SCENARIOS: "scenarios",
  BENCH_BACKENDS: "backends",
  BENCH_BURST: "burst",
  BENCH_CONCURRENCY: "concurrency",
  BENCH_LOOP_S: "loopS",
  BENCH_OUT: "out",
  BENCH_LABEL: "label",
  BENCH_PROOT_ALT: "prootAlt",
  BENCH_RUNTIME_PROOT: "runtimeProot",
};
const FLAGS: Record<string, string> = { only: "scenarios", "loop-s": "loopS", "proot-alt": "prootAlt", "runtime-proot": "runtimeProot" };

export function parseOptions(env: Record<string, string | undefined>, argv: string[]): Options {
  const input: Record<string, string> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== "") input[key] = v;
  }
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m?.[1]) throw new Error(`unknown argument ${arg}: flags look like --quick or --only=1,3`);
    input[FLAGS[m[1]] ?? m[1]] = m[2] ?? "1";
  }
  const parsed = OptionsSchema.strict().safeParse(input);
  if (!parsed.success) {
    throw new Error(`invalid benchmark options:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
  }
  const o = parsed.data;
  return { ...o, burst: o.burst ?? (o.quick ? 8 : 50), concurrency: o.concurrency ?? (o.quick ? 8 : 64) };
}

/** An iteration count for this run: `base` scaled, a tenth (at least 3) when quick. */
export function iterations(o: Pick<Options, "quick" | "scale">, base: number): number {
  return o.quick ? Math.max(3, Math.ceil(base / 10)) : Math.max(1, Math.round(base * o.scale));
}
