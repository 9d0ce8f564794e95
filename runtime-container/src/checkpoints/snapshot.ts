import { constants, type Stats } from "node:fs";
import { open, readlink } from "node:fs/promises";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import { readNames } from "../files/dir-tree.ts";
import { type OpenDir, fsCode, lstatAt, openDirAt, withWorkspaceDir } from "../files/safe-open.ts";
import { type BlobDir, overBudget } from "./blobs.ts";
import type { ManifestEntry } from "./manifest.ts";

/** Held directory fds at once (one per level); the sandbox can nest deeper, and such a tree is refused, not cut. */
const MAX_DEPTH = 256;
/** Files read at once within one directory (thread-pool round trips dominate a tree of small files). */
const BATCH = 16;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export interface SnapshotLimits {
  /** Entries one checkpoint may record. */
  maxEntries: number;
  /** The thread's byte limit, and what its stored blobs leave of it. */
  maxBytes: number;
  remainingBytes: number;
}

type FileEntry = Extract<ManifestEntry, { type: "file" }>;

/**
 * The files of the thread's latest checkpoint by path: a file whose size, mtime, inode and ctime are all unchanged
 * is recorded with the hash it had, without being read again (as git's index does). The thread cannot forge a ctime
 * (any change of content, mode or times sets it to now), so an unchanged one means unchanged content.
 */
export type Previous = Map<string, FileEntry>;

interface Walk {
  blobs: BlobDir;
  previous: Previous;
  limits: SnapshotLimits;
  entries: ManifestEntry[];
  skipped: { path: string; type: string }[];
  sizeBytes: number;
  added: number;
}

/**
 * Records the workspace at `root` as the sandbox left it, on held directory fds only (safe-open): a symlink is
 * stored as its target text and never followed, a file is read from an fd opened O_NOFOLLOW | O_NONBLOCK and checked
 * to be the regular file the lstat saw, and FIFOs, sockets and devices are skipped and reported (reading one could
 * hang or touch a device). An entry that changes mid-walk is recorded as it was found or skipped; the walk never
 * leaves the tree. Contents go to the blob store as they are read.
 */
export async function snapshotWorkspace(root: string, blobs: BlobDir, limits: SnapshotLimits, previous: Previous = new Map()) {
  const walk: Walk = { blobs, previous, limits, entries: [], skipped: [], sizeBytes: 0, added: 0 };
  await withWorkspaceDir(root, [], {}, (dir) => walkDir(dir, walk, 0));
  return { entries: walk.entries, skipped: walk.skipped, sizeBytes: walk.sizeBytes, added: walk.added };
}

function tooMany(w: Walk, path: string): AppError {
  const max = w.limits.maxEntries;
  return new AppError(ErrorCode.CHECKPOINT_LIMIT_EXCEEDED, `the workspace has more than ${max} entries, the most a checkpoint records`, {
    limit: "files",
    max_files: max,
    path,
  });
}

async function walkDir(dir: OpenDir, w: Walk, depth: number): Promise<void> {
  // Bounded read: a directory of millions of names stops one past the limit.
  const names = (await readNames(dir, w.limits.maxEntries - w.entries.length)).sort();
  for (let i = 0; i < names.length; i += BATCH) {
    const batch = names.slice(i, i + BATCH);
    const found = await Promise.all(batch.map(async (name) => ({ name, st: await lstatAt(dir, name) })));
    const files = await Promise.all(found.map(({ name, st }) => (st && !st.isDirectory() ? recordLeaf(dir, name, st, w) : null)));
    for (let j = 0; j < found.length; j++) {
      const { name, st } = found[j] as (typeof found)[number];
      const path = dir.child(name);
      if (w.entries.length >= w.limits.maxEntries) throw tooMany(w, path);
      const leaf = files[j];
      if (leaf) w.entries.push(leaf);
      if (!st?.isDirectory()) continue;
      if (depth + 1 >= MAX_DEPTH) {
        throw new AppError(ErrorCode.CHECKPOINT_LIMIT_EXCEEDED, `"${path}" is nested deeper than ${MAX_DEPTH} levels`, { limit: "depth", path });
      }
      // Swapped for a link since the lstat: O_NOFOLLOW refuses it, and it is left out.
      const child = await openDirAt(dir, name).catch(() => null);
      if (child === null) {
        w.skipped.push({ path, type: "changed" });
        continue;
      }
      try {
        w.entries.push({ type: "dir", path, mode: (await child.handle.stat()).mode & 0o777 });
        await walkDir(child, w, depth + 1);
      } finally {
        await child.close();
      }
    }
  }
}

/** A file or a link as an entry (its content stored); anything else is reported in `skipped` (null). */
async function recordLeaf(dir: OpenDir, name: string, st: Stats, w: Walk): Promise<ManifestEntry | null> {
  const path = dir.child(name);
  if (st.isSymbolicLink()) {
    // readlink never follows the final component; EINVAL: no longer a link.
    const target = await readlink(dir.at(name)).catch((err: unknown) => {
      if (["EINVAL", "ENOENT"].includes(fsCode(err) ?? "")) return null;
      throw err;
    });
    if (target === null) w.skipped.push({ path, type: "changed" });
    return target === null ? null : { type: "symlink", path, target };
  }
  if (!st.isFile()) {
    w.skipped.push({ path, type: otherType(st) });
    return null;
  }
  const before = w.previous.get(path);
  // `previous` holds only files whose contents are stored.
  if (before && before.size === st.size && before.mtime_ms === st.mtimeMs && before.ino === st.ino && before.ctime_ms === st.ctimeMs) {
    w.sizeBytes += st.size;
    return { ...before, mode: st.mode & 0o777 };
  }
  const fh = await open(dir.at(name), READ_FLAGS).catch((err: unknown) => {
    if (["ENOENT", "ELOOP", "ENXIO", "EACCES"].includes(fsCode(err) ?? "")) return null;
    throw err;
  });
  if (fh === null) {
    w.skipped.push({ path, type: "changed" });
    return null;
  }
  try {
    const now = await fh.stat();
    if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) {
      w.skipped.push({ path, type: "changed" });
      return null;
    }
    const blob = await w.blobs.put(fh, w.limits.maxBytes, path);
    w.added += blob.added;
    if (w.added > w.limits.remainingBytes) throw overBudget(path);
    w.sizeBytes += blob.size;
    const same = blob.size === now.size; // the file did not change while it was read: its stat identifies this content
    const id = same ? { ino: now.ino, ctime_ms: now.ctimeMs } : {};
    return { type: "file", path, mode: now.mode & 0o777, size: blob.size, mtime_ms: now.mtimeMs, hash: blob.hash, ...id };
  } finally {
    await fh.close();
  }
}

function otherType(st: Stats): string {
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  if (st.isCharacterDevice()) return "char-device";
  if (st.isBlockDevice()) return "block-device";
  return "other";
}
