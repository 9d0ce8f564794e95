import type { RunLimits } from "../sandbox/limits.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import type { DiskQuota } from "./disk-quota.ts";

const MIB = 1024 * 1024;
/**
 * The least RLIMIT_FSIZE a run gets, even with less than this left: the sandbox's own machinery writes files under
 * the run's limits (proot extracts its loader to /tmp at every start), and a run that cannot start cannot free space
 * either. So a run near the quota may still pass it by less than this; the watchdog then stops it.
 */
const MIN_FILE_SIZE_MB = 1;

/** What a run gets from the disk quota: its limits with RLIMIT_FSIZE capped, the watchdog's signal, and its end. */
export interface QuotaRun {
  limits: RunLimits;
  /** Aborted (reason: the line for stderr) when the watchdog finds the thread over its quota. */
  signal: AbortSignal;
  /** Call once the run's processes are gone. */
  end: () => void;
}

/**
 * Admits a run (507 DISK_QUOTA_EXCEEDED when the thread is over its quota) and watches it: one file can then grow
 * only to what is left (EFBIG, or SIGXFSZ, inside the run), and many files are caught by the watchdog.
 * RLIMIT_FSIZE is set in whole MiB, rounded down: never more than what is left, but at least MIN_FILE_SIZE_MB.
 */
export async function admitRun(quota: DiskQuota, loc: WorkspaceLocation, limits: RunLimits, what?: string): Promise<QuotaRun> {
  const { remaining } = await quota.admit(loc, what);
  const fileSizeMb = Math.min(limits.fileSizeMb, Math.max(MIN_FILE_SIZE_MB, Math.floor(remaining.bytes / MIB)));
  const controller = new AbortController();
  const end = quota.watch(loc, (line) => controller.abort(line));
  return { limits: { ...limits, fileSizeMb }, signal: controller.signal, end };
}
