// Loaded into the benchmark's runtimes with NODE_OPTIONS=--import: records the exact host command line (file, argv,
// cwd, environment) of any spawn whose argv carries the marker, so the harness can replay the very command the
// runtime builds, whatever its layers are. Every other spawn passes through untouched. Plain JS: it runs before tsx.
import childProcess from "node:child_process";
import { appendFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";

const log = process.env.BENCH_SPAWN_LOG;
const marker = process.env.BENCH_SPAWN_MARKER;
if (log && marker) {
  const original = childProcess.spawn;
  childProcess.spawn = function spawn(file, args, options) {
    if (Array.isArray(args) && args.some((a) => typeof a === "string" && a.includes(marker))) {
      const record = { file, args, cwd: String(options?.cwd ?? process.cwd()), env: options?.env ?? {} };
      appendFileSync(log, `${JSON.stringify(record)}\n`);
    }
    return original.apply(this, arguments);
  };
  syncBuiltinESMExports();
}
