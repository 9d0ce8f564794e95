import { type Stats, lstat } from "node:fs";
import { opendir } from "node:fs/promises";
import { fsCode, openDirAt, type OpenDir, withWorkspaceDir } from "../files/safe-open.ts";

/** Bytes (st_blocks × 512: what the disk holds, sparse files and directories included) and inodes. */
export interface Usage {
  bytes: number;
  inodes: number;
}

/** Why a walk stopped before the end: over the inode budget, or a tree nested deeper than it may hold fds for. */
export type WalkStop = "inodes" | "depth";

/**
 * Each level of the walk holds its directory's fd (re-resolving names would reopen the races safe-open closes), so
 * depth is bounded. A tree deeper than this cannot be measured; the quota then counts it as over (fail closed),
 * since whatever lies below would otherwise be free space.
 */
export const MAX_WALK_DEPTH = 512;
/**
 * lstat calls issued together. Batches, and the callback API rather than fs/promises, halve the walk's CPU time
 * (about 12 µs an entry instead of 29 µs on the development machine); each call is still one entry of a held
 * directory, as lstatAt makes it.
 */
const LSTAT_BATCH = 64;
/** Directory entries read per readdir(3) round trip. */
const READ_BUFFER = 128;

/**
 * Measures directory trees on held directory fds, as root, while the sandbox may be changing them: no link is ever
 * followed (lstat only; a directory is entered with O_NOFOLLOW|O_DIRECTORY from its parent's fd), no other entry
 * is opened (a FIFO or socket is counted, never touched), other filesystems are not entered, and an inode with
 * several links is counted once. The walk stops as soon as the inode count is over `maxInodes`, so its cost is
 * bounded by the quota, whatever the sandbox made.
 * Races only make it miss or recount entries the sandbox moves during the walk; the next walk sees them.
 */
export class UsageWalk {
  readonly total: Usage = { bytes: 0, inodes: 0 };
  stopped: WalkStop | null = null;
  private readonly seen = new Set<string>();

  constructor(private readonly maxInodes: number) {}

  /** Adds the tree at `root` (host configuration, not sandbox input); a missing root counts nothing. */
  async add(root: string): Promise<Usage> {
    const before = { ...this.total };
    if (this.stopped) return { bytes: 0, inodes: 0 };
    try {
      await withWorkspaceDir(root, [], {}, async (dir) => {
        const st = await dir.handle.stat();
        this.count(st);
        await this.walk(dir, st.dev, 1);
      });
    } catch (err) {
      if (fsCode(err) !== "ENOENT") throw err;
    }
    return { bytes: this.total.bytes - before.bytes, inodes: this.total.inodes - before.inodes };
  }

  private count(st: Stats): void {
    if (st.nlink > 1 && !st.isDirectory()) {
      const key = `${st.dev}:${st.ino}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
    }
    this.total.bytes += st.blocks * 512;
    this.total.inodes += 1;
    if (this.total.inodes > this.maxInodes) this.stopped ??= "inodes";
  }

  private async walk(dir: OpenDir, dev: number, depth: number): Promise<void> {
    const names = await this.names(dir);
    const subdirs: string[] = [];
    for (let i = 0; i < names.length && !this.stopped; i += LSTAT_BATCH) {
      const batch = names.slice(i, i + LSTAT_BATCH);
      const stats = await lstatAll(dir, batch);
      stats.forEach((st, j) => {
        if (st === null || this.stopped) return; // deleted since readdir
        this.count(st);
        if (st.isDirectory() && st.dev === dev) subdirs.push(batch[j] as string);
      });
    }
    for (const name of subdirs) {
      if (this.stopped) return;
      if (depth >= MAX_WALK_DEPTH) {
        this.stopped = "depth";
        return;
      }
      // Swapped for a link or a file since the lstat: counted as it was, not entered.
      const child = await openDirAt(dir, name).catch(() => null);
      if (child === null) continue;
      try {
        await this.walk(child, dev, depth + 1);
      } finally {
        await child.close();
      }
    }
  }

  /** The directory's names, read to the end but never more than the inode budget has left (plus one). */
  private async names(dir: OpenDir): Promise<string[]> {
    const room = this.maxInodes - this.total.inodes + 1;
    const names: string[] = [];
    try {
      // The async iterator closes the stream on completion and on break alike.
      for await (const entry of await opendir(dir.self, { bufferSize: READ_BUFFER })) {
        names.push(entry.name);
        if (names.length >= room) break;
      }
    } catch (err) {
      // Deleted under us: nothing left to count.
      if (fsCode(err) !== "ENOENT") throw err;
    }
    return names;
  }
}

/** lstat of each name in a held directory (never following a link); null for an entry gone since readdir. */
function lstatAll(dir: OpenDir, names: string[]): Promise<(Stats | null)[]> {
  return new Promise((resolve, reject) => {
    const out: (Stats | null)[] = names.map(() => null);
    let left = names.length;
    let failed = false;
    if (left === 0) resolve(out);
    names.forEach((name, i) =>
      lstat(dir.at(name), (err, st) => {
        if (err && fsCode(err) !== "ENOENT" && !failed) {
          failed = true;
          reject(err);
        }
        if (!err) out[i] = st;
        if (--left === 0 && !failed) resolve(out);
      }),
    );
  });
}
