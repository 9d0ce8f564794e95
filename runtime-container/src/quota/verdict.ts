import { AppError, type DiskUsage, ErrorCode } from "../../../shared/src/index.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import type { Usage } from "./usage-walk.ts";
import type { ThreadUsage } from "./thread-usage.ts";

/** A thread's disk quota: bytes on disk and inodes, over its workspace, private tmp dirs and venv together. */
export interface QuotaLimits {
  bytes: number;
  inodes: number;
}

const NONE: Usage = { bytes: 0, inodes: 0 };
const MIB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

/**
 * Over the quota once `extra` (pending or asked-for) is added. A walk that stopped early is over by construction:
 * past the inode budget, or too deep to count (fail closed: what lies below would otherwise be free space).
 */
export function isOver(usage: ThreadUsage, limits: QuotaLimits, extra: Usage = NONE): boolean {
  return usage.stopped !== null || usage.bytes + extra.bytes > limits.bytes || usage.inodes + extra.inodes > limits.inodes;
}

/** How full the thread is, and with what. */
export function describeUsage(usage: ThreadUsage, limits: QuotaLimits): string {
  const { workspace, tmp, venv } = usage.parts;
  const least = usage.stopped ? "at least " : "";
  const deep = usage.stopped === "depth" ? "; a directory tree is nested too deep to be measured" : "";
  return (
    `it holds ${least}${mib(usage.bytes)} of its ${mib(limits.bytes)} and ${least}${usage.inodes} of its ${limits.inodes} files ` +
    `and directories (workspace ${mib(workspace.bytes)}, /tmp ${mib(tmp.bytes)}, venv ${mib(venv.bytes)}${deep})`
  );
}

/** Runs are refused while over, so the files API (or deleting the thread) is the way back under. */
function howToFree(loc: WorkspaceLocation): string {
  return (
    `Free space by deleting files with DELETE /v1/threads/${loc.thread}/files/<path> (recursive=true for a directory); ` +
    "runs, installs and uploads work again once the thread is under its quota."
  );
}

/** 507 DISK_QUOTA_EXCEEDED: `what` says what was refused; the counts go in `details`. */
export function quotaExceeded(loc: WorkspaceLocation, usage: ThreadUsage, limits: QuotaLimits, what: string): AppError {
  const message = `${what}: thread ${loc.thread} is at its disk quota: ${describeUsage(usage, limits)}. ${howToFree(loc)}`;
  return new AppError(ErrorCode.DISK_QUOTA_EXCEEDED, message, {
    used_bytes: usage.bytes,
    limit_bytes: limits.bytes,
    used_inodes: usage.inodes,
    limit_inodes: limits.inodes,
    complete: usage.stopped === null,
    parts: usage.parts,
  });
}

/** The line a run stopped by the watchdog gets at the end of its stderr. */
export function stopLine(loc: WorkspaceLocation, usage: ThreadUsage, limits: QuotaLimits): string {
  return `\nthreadbox: the run was stopped: thread ${loc.thread} went over its disk quota: ${describeUsage(usage, limits)}. ${howToFree(loc)}\n`;
}

/** The thread's usage as the API reports it (workspace info). */
export function diskUsage(usage: ThreadUsage, limits: QuotaLimits): DiskUsage {
  return {
    bytes: usage.bytes,
    inodes: usage.inodes,
    quota_bytes: limits.bytes,
    quota_inodes: limits.inodes,
    over_quota: isOver(usage, limits),
    complete: usage.stopped === null,
    parts: usage.parts,
    measured_at: new Date(usage.measuredAt).toISOString(),
  };
}
