import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PYTHON_BIN, startEnvironment } from "./environment.ts";
import { evaluateGoals } from "./goals.ts";
import { describeMachine, loadavg } from "./machine.ts";
import { iterations, parseOptions } from "./options.ts";
import { type BenchResult, type Row, writeResults } from "./report.ts";
import { scenarioContext } from "./scenario.ts";
import { SCENARIOS } from "./scenarios/index.ts";
import { goalsTable, resultsTable } from "./table.ts";

/**
 * `npm run bench`: starts the local stack (package index, runtimes, `wrangler dev`), runs the scenarios (issue 8's,
 * extended for issue 18) with their baselines in the same run, judges both issues' goals, prints the tables and
 * writes bench/results/latest.json plus a dated copy.
 */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** The first `proot` on PATH (the system's, Debian's 5.1 here), or null. */
function systemProot(): string | null {
  for (const dir of (process.env.PATH ?? "").split(":").filter((d) => d.startsWith("/"))) {
    if (existsSync(path.join(dir, "proot"))) return path.join(dir, "proot");
  }
  return null;
}

async function main(): Promise<void> {
  const options = parseOptions(process.env, process.argv.slice(2));
  // proot 5.4 with its seccomp accelerator (scripts/build-proot.sh), when built, is the runtime's default proot
  // (config.ts): named here so the results say so, and the system's proot is replayed beside it in the same rounds.
  const built = path.join(REPO, ".build/proot-5.4/proot");
  const system = systemProot();
  if (existsSync(built)) {
    options.runtimeProot ??= built;
    if (options.prootAlt === undefined && options.runtimeProot === built && system) options.prootAlt = system;
  }
  const started = new Date();
  const machine = await describeMachine(PYTHON_BIN, options.prootAlt, options.runtimeProot);
  log(`${machine.nproc} cpus, load ${machine.loadavg_start.join(" ")}; scenarios ${options.scenarios.join(",")}${options.quick ? " (quick)" : ""}`);
  const wheels = options.scenarios.includes(7) ? iterations(options, 3) : 1;
  const env = await startEnvironment(options.backends, wheels, log, options.runtimeProot);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await env.stop();
  };
  process.once("SIGINT", () => void stop().finally(() => process.exit(130)));
  process.once("SIGTERM", () => void stop().finally(() => process.exit(143)));

  const rows: Row[] = [];
  const failures: BenchResult["failures"] = [];
  const ran: BenchResult["scenarios"] = [];
  const ctx = scenarioContext(env, options, log);
  try {
    for (const scenario of SCENARIOS.filter((s) => options.scenarios.includes(s.id))) {
      const t0 = performance.now();
      const load = loadavg();
      log(`scenario ${scenario.id}: ${scenario.title} (load ${load.join(" ")})`);
      try {
        rows.push(...(await scenario.run(ctx)));
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        log(`scenario ${scenario.id} failed: ${error}`);
        failures.push({ scenario: scenario.id, error });
      }
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      ran.push({ id: scenario.id, title: scenario.title, seconds, loadavg_start: load });
      log(`scenario ${scenario.id} took ${seconds} s`);
    }
  } finally {
    await stop();
  }

  machine.loadavg_end = loadavg();
  const finished = new Date();
  const result: BenchResult = {
    schema: 1,
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    duration_s: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
    options,
    machine,
    rows,
    goals: evaluateGoals(rows, env.backends),
    scenarios: ran,
    failures,
  };
  process.stdout.write(`\n${resultsTable(rows)}\n\n${goalsTable(result.goals)}\n\n`);
  const files = await writeResults(path.resolve(REPO, options.out), result);
  log(`wrote ${files.map((f) => path.relative(REPO, f)).join(" and ")}`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
