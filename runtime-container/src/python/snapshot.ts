import { readNames } from "../files/dir-tree.ts";
import { type OpenDir, lstatAt, openDirAt, withWorkspaceDir } from "../files/safe-open.ts";

/** Directories that hold environments and caches, not the user's work. */
const SKIP = new Set([".threadbox", ".venv", "node_modules", ".cache", ".config", "__pycache__", ".git"]);
const MAX_ENTRIES = 20_000;
/** Deeper directories are not looked into (the walk holds one fd per level). */
const MAX_DEPTH = 64;

export type Snapshot = Map<string, string>;

/**
 * Records every regular file's mtime and size (bounded), so `files_created` can report what a run created or
 * modified. The sandbox may be changing the tree meanwhile (a context runs on): the walk holds directory fds and
 * opens each subdirectory without following a link, so a directory swapped for a link to a host directory is skipped,
 * never listed, and no name from outside the workspace can appear.
 */
export async function snapshotWorkspace(root: string): Promise<Snapshot> {
  const files: Snapshot = new Map();
  const budget = { left: MAX_ENTRIES };
  await withWorkspaceDir(root, [], {}, (dir) => walk(dir, files, budget, 0)).catch(() => undefined);
  return files;
}

async function walk(dir: OpenDir, files: Snapshot, budget: { left: number }, depth: number): Promise<void> {
  const names = await readNames(dir, budget.left).catch(() => []);
  for (const name of names) {
    if (--budget.left < 0) return;
    const st = await lstatAt(dir, name).catch(() => null);
    if (st?.isFile()) {
      files.set(dir.child(name), `${st.mtimeMs}:${st.size}`);
    } else if (st?.isDirectory() && !SKIP.has(name) && depth + 1 < MAX_DEPTH) {
      const child = await openDirAt(dir, name).catch(() => null);
      if (child === null) continue; // swapped for a link (or gone) since the lstat
      try {
        await walk(child, files, budget, depth + 1);
      } finally {
        await child.close();
      }
    }
  }
}

/** Paths present after that were absent before or changed, sorted. */
export function changedFiles(before: Snapshot, after: Snapshot): string[] {
  return [...after].filter(([p, sig]) => before.get(p) !== sig).map(([p]) => p).sort();
}
