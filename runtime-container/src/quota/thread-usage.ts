import type { WorkspaceLocation } from "../thread-location.ts";
import { type Usage, UsageWalk, type WalkStop } from "./usage-walk.ts";

/** What one thread holds on disk: its workspace, its private /tmp, /var/tmp and /dev/shm, and its venv. */
export interface ThreadUsage extends Usage {
  parts: { workspace: Usage; tmp: Usage; venv: Usage };
  /** Set when the walk stopped early: the totals are then a lower bound, and over the quota. */
  stopped: WalkStop | null;
  /** When the walk started (ms since the epoch) and how long it took. */
  measuredAt: number;
  walkMs: number;
}

/**
 * Walks every directory the thread can write to on this host, in one budget: the walk stops once the thread has
 * more than `maxInodes` inodes in all (its cost is bounded by the quota). The tenant's package cache is shared by
 * its threads and is not counted here.
 */
export async function measureThread(loc: WorkspaceLocation, maxInodes: number): Promise<ThreadUsage> {
  const measuredAt = Date.now();
  const started = performance.now();
  const walk = new UsageWalk(maxInodes);
  const workspace = await walk.add(loc.dir);
  const tmp = { bytes: 0, inodes: 0 };
  for (const dir of [loc.privateTmp.tmp, loc.privateTmp.varTmp, loc.privateTmp.shm]) {
    const part = await walk.add(dir);
    tmp.bytes += part.bytes;
    tmp.inodes += part.inodes;
  }
  const venv = await walk.add(loc.mounts.venv);
  return {
    ...walk.total,
    parts: { workspace, tmp, venv },
    stopped: walk.stopped,
    measuredAt,
    walkMs: performance.now() - started,
  };
}
