import { type Dirent, promises as fs } from "node:fs";
import path from "node:path";

/** Directories that hold environments and caches, not the user's work. */
const SKIP = new Set([".threadbox", ".venv", "node_modules", ".cache", ".config", "__pycache__", ".git"]);
const MAX_ENTRIES = 20_000;

export type Snapshot = Map<string, string>;

/**
 * Records every regular file's mtime and size (bounded; symlinks are not followed), so `files_created` can report
 * what a run created or modified.
 */
export async function snapshotWorkspace(root: string): Promise<Snapshot> {
  const files: Snapshot = new Map();
  const queue = [""];
  let seen = 0;
  while (queue.length > 0 && seen < MAX_ENTRIES) {
    const rel = queue.shift() as string;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (++seen > MAX_ENTRIES) break;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIP.has(entry.name)) queue.push(child);
      } else if (entry.isFile()) {
        const st = await fs.lstat(path.join(root, child)).catch(() => null);
        if (st) files.set(child, `${st.mtimeMs}:${st.size}`);
      }
    }
  }
  return files;
}

/** Paths present after that were absent before or changed, sorted. */
export function changedFiles(before: Snapshot, after: Snapshot): string[] {
  return [...after].filter(([p, sig]) => before.get(p) !== sig).map(([p]) => p).sort();
}
