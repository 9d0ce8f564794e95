import { AppError, ErrorCode, type RunLimitsRequest } from "../../../shared/src/index.ts";
import type { RuntimeConfig } from "../config.ts";

/** The resource limits of one run, resolved against the runtime's defaults and maxima. */
export interface RunLimits {
  cpuS: number;
  memoryMb: number;
  processes: number;
  openFiles: number;
  fileSizeMb: number;
}

/** Each request field, its RunLimits field, and the runtime's default and maximum for it. */
const FIELDS = [
  { name: "memory_mb", key: "memoryMb", def: "LIMIT_MEMORY_MB", max: "MAX_MEMORY_MB" },
  { name: "processes", key: "processes", def: "LIMIT_PROCESSES", max: "MAX_PROCESSES" },
  { name: "open_files", key: "openFiles", def: "LIMIT_OPEN_FILES", max: "MAX_OPEN_FILES" },
  { name: "file_size_mb", key: "fileSizeMb", def: "LIMIT_FILE_SIZE_MB", max: "MAX_FILE_SIZE_MB" },
] as const;

/** Seconds between SIGXCPU (catchable) and SIGKILL for a process over its CPU limit. */
const CPU_HARD_MARGIN_S = 5;

/**
 * The limits for a run. A request above a maximum is refused (400 VALIDATION_FAILED naming the maximum), never
 * clamped: a caller who asked for 32 GiB should learn it did not get it. Without a timeout (a context's
 * interpreter) the CPU limit is the runtime's maximum: it bounds the interpreter's lifetime total, not one cell.
 */
export function resolveLimits(config: RuntimeConfig, req: RunLimitsRequest = {}, timeoutMs?: number): RunLimits {
  const over: string[] = [];
  const check = (name: string, value: number | undefined, max: number, maxName: string) => {
    if (value !== undefined && value > max) over.push(`limits.${name} ${value} is above this runtime's maximum ${max} (${maxName})`);
  };
  const limits = { cpuS: 0, memoryMb: 0, processes: 0, openFiles: 0, fileSizeMb: 0 };
  for (const f of FIELDS) {
    check(f.name, req[f.name], config[f.max], f.max);
    limits[f.key] = req[f.name] ?? config[f.def];
  }
  check("cpu_s", req.cpu_s, config.MAX_CPU_S, "MAX_CPU_S");
  const fromTimeout = timeoutMs === undefined ? config.MAX_CPU_S : Math.ceil((timeoutMs + config.KILL_GRACE_MS) / 1000) + 1;
  limits.cpuS = req.cpu_s ?? config.LIMIT_CPU_S ?? Math.min(fromTimeout, config.MAX_CPU_S);
  if (over.length > 0) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, `${over.join("; ")}; ask for less or raise the maximum`, {
      maxima: Object.fromEntries([...FIELDS.map((f) => [f.name, config[f.max]]), ["cpu_s", config.MAX_CPU_S]]),
    });
  }
  return limits;
}

const MIB = 1024 * 1024;

/**
 * The seccomp helper's options for these limits (see native/options.c); core dumps are always off. RLIMIT_NPROC
 * counts every process of the uid, so it is set only when the run has a uid of its own (`nproc` not null): on the
 * server's uid it would count the developer's whole session. It is the run's `processes`, or, when the run's cgroup
 * counts those (pids.max), a bound for the whole thread (see create.ts): one run's count is then its own, no longer
 * shared with the thread's other runs and contexts.
 */
export function rlimitArgs(l: RunLimits, nproc: number | null): string[] {
  const pair = (name: string, soft: number, hard = soft) => `--rlimit=${name}:${soft}:${hard}`;
  return [
    pair("cpu", l.cpuS, l.cpuS + CPU_HARD_MARGIN_S),
    pair("as", l.memoryMb * MIB),
    ...(nproc !== null ? [pair("nproc", nproc)] : []),
    pair("nofile", l.openFiles),
    pair("fsize", l.fileSizeMb * MIB),
    pair("core", 0),
  ];
}
