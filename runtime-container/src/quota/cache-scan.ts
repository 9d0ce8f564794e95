import { constants } from "node:fs";
import { open, rmdir } from "node:fs/promises";
import { readNames } from "../files/dir-tree.ts";
import { removeTree } from "../files/remove-tree.ts";
import { OpenDir, fsCode, lstatAt, openDirAt } from "../files/safe-open.ts";
import { type CacheUnit, unitOf } from "./cache-lru.ts";

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** Held directory levels (each holds an fd); pip's deepest entries are 6 levels down. Deeper trees are not entered. */
const MAX_DEPTH = 32;

export interface CacheScan {
  units: CacheUnit[];
  /** Bytes on disk (st_blocks × 512) and inodes seen, directories included. */
  bytes: number;
  inodes: number;
  /** The walk stopped at its entry budget: the units are those seen so far. */
  truncated: boolean;
}

/**
 * Reads a tenant's package cache (written by every thread of the tenant, so hostile) on held directory fds: lstat
 * only, a directory is entered with O_NOFOLLOW from its parent's fd, a link, FIFO or socket is counted where it lies
 * and never opened, other filesystems are not entered. At most `maxEntries` entries are looked at.
 */
export async function scanCache(root: string, maxEntries: number): Promise<CacheScan> {
  const out: CacheScan = { units: [], bytes: 0, inodes: 0, truncated: false };
  const units = new Map<string, CacheUnit>();
  const top = await openRoot(root);
  if (top === null) return out;
  try {
    const st = await top.handle.stat();
    const walk = async (dir: OpenDir, segments: string[]): Promise<void> => {
      for (const name of await readNames(dir, maxEntries)) {
        if (out.inodes >= maxEntries) {
          out.truncated = true;
          return;
        }
        const entry = await lstatAt(dir, name);
        if (entry === null) continue;
        out.inodes += 1;
        out.bytes += entry.blocks * 512;
        const path = [...segments, name];
        if (!entry.isDirectory()) {
          // Only what directories hold makes a unit: an intermediate directory (pip's fan-out, `bun-<uid>`) is no
          // entry of its own, and its times say nothing about use.
          addTo(units, unitOf(path), entry.blocks * 512, Math.max(entry.atimeMs, entry.mtimeMs));
          continue;
        }
        if (entry.dev !== st.dev || path.length >= MAX_DEPTH) continue;
        // Swapped for a link since the lstat: O_NOFOLLOW refuses it, and it stays counted as it was.
        const child = await openDirAt(dir, name).catch(() => null);
        if (child === null) continue;
        try {
          await walk(child, path);
        } finally {
          await child.close();
        }
      }
    };
    await walk(top, []);
  } finally {
    await top.close();
  }
  out.units = [...units.values()];
  return out;
}

function addTo(units: Map<string, CacheUnit>, segments: string[], bytes: number, usedMs: number): void {
  const key = segments.join("/");
  const unit = units.get(key) ?? { segments, bytes: 0, lastUsedMs: 0 };
  unit.bytes += bytes;
  unit.lastUsedMs = Math.max(unit.lastUsedMs, usedMs);
  units.set(key, unit);
}

/**
 * Removes one unit: its parents are entered from the cache root with O_NOFOLLOW, the unit itself goes through
 * removeTree (a link is unlinked, never followed), and the directories it leaves empty are removed. False when a
 * parent is gone or no longer a directory.
 */
export async function removeUnit(root: string, segments: readonly string[]): Promise<boolean> {
  const top = await openRoot(root);
  if (top === null) return false;
  const held: OpenDir[] = [top];
  try {
    for (const name of segments.slice(0, -1)) {
      const next = await openDirAt(held[held.length - 1] as OpenDir, name).catch(() => null);
      if (next === null) return false;
      held.push(next);
    }
    await removeTree(held[held.length - 1] as OpenDir, segments[segments.length - 1] as string);
    // Empty parents (pip's fan-out directories) go too; the first one still in use stops it.
    for (let i = held.length - 1; i >= 1; i--) {
      const ok = await rmdir((held[i - 1] as OpenDir).at(segments[i - 1] as string)).then(
        () => true,
        () => false,
      );
      if (!ok) break;
    }
    return true;
  } finally {
    for (const dir of held.reverse()) await dir.close();
  }
}

/** The cache root (the runtime's own STATE_DIR/pip-cache/<tenant>), not following a link; null when missing. */
async function openRoot(root: string): Promise<OpenDir | null> {
  try {
    return new OpenDir(await open(root, DIR_FLAGS), "");
  } catch (err) {
    if (fsCode(err) === "ENOENT") return null;
    throw err;
  }
}
