import { readdirSync } from "node:fs";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { WorkspaceLocation } from "../thread-location.ts";

/** Probes a system interpreter's version once per command (system mode, the run_python tool's `python_cmd`). */
export function systemPythonProber(run: GuestRunner): (loc: WorkspaceLocation, command: string) => Promise<string> {
  const cache = new Map<string, string>();
  return async (loc, command) => {
    const known = cache.get(command);
    if (known) return known;
    const r = await run(loc, {
      argv: [command, "-c", "import sys; print(sys.version.split()[0])"],
      timeoutMs: 30_000,
    });
    const version = r.stdout.trim();
    if (r.exitCode !== 0 || !/^\d+\.\d+/.test(version)) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, `python_cmd ${command} is not available in the sandbox`);
    }
    cache.set(command, version);
    return version;
  };
}

/** The base interpreter's standard-library module names, read once. */
export function stdlibProber(run: GuestRunner, pythonBin: string): (loc: WorkspaceLocation) => Promise<ReadonlySet<string>> {
  let names: Promise<ReadonlySet<string>> | undefined;
  return (loc) => {
    names ??= run(loc, {
      argv: [pythonBin, "-c", "import sys; print('\\n'.join(sorted(sys.stdlib_module_names)))"],
      timeoutMs: 30_000,
    }).then((r) => new Set(r.exitCode === 0 ? r.stdout.split("\n").filter(Boolean) : []));
    return names;
  };
}

/** The system interpreters a call may choose with `python_cmd` (guest and host share /usr/bin). */
export function systemInterpreters(): string[] {
  return readdirSync("/usr/bin").filter((f) => /^python3(\.\d{1,2})?$/.test(f)).sort();
}
