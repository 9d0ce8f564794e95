import type { Dirent } from "node:fs";
import { readdir, readlink, rmdir, unlink } from "node:fs/promises";
import path from "node:path";

/**
 * proot and bwrap create a mount point in the workspace for every bind whose target is missing there (`/usr`,
 * `/proc`, `/workspace`, ...). They are the sandbox's, not the user's: this removes them after a run (and stale ones
 * before), so file listings and the bucket hold only the user's files. Only empty directories and our own
 * usr-merge symlinks are removed, never anything with content.
 *
 * One listing of the workspace's top level per pass (not a stat per mount point), and the removals at once: this is
 * on the path of every run, before and after the sandboxed command.
 */
async function removeEntries(workspace: string, entries: Dirent[]): Promise<void> {
  await Promise.all(
    entries.map(async (entry) => {
      const p = path.join(workspace, entry.name);
      if (entry.isSymbolicLink()) {
        if ((await readlink(p).catch(() => "")).startsWith("usr/")) await unlink(p).catch(() => undefined);
      } else if (entry.isDirectory()) {
        await rmdir(p).catch(() => undefined); // ENOTEMPTY keeps a directory the user filled (ENOTDIR: swapped)
      }
    }),
  );
}

/** Removes the stubs among `names` (the benchmark's replay of the runtime's command cleans up with this too). */
export async function removeStubs(workspace: string, names: Iterable<string>): Promise<void> {
  await removeEntries(workspace, await present(workspace, new Set(names)));
}

/** The top-level entries of the workspace among `names`. */
async function present(workspace: string, names: Set<string>): Promise<Dirent[]> {
  const entries = await readdir(workspace, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => names.has(e.name));
}

/** Prepares a run: stale stubs removed; returns the cleanup that removes the ones this run creates. */
export async function stubGuard(workspace: string, mountPoints: string[]): Promise<() => Promise<void>> {
  const names = new Set(mountPoints.map((m) => m.replace(/^\//, "").split("/")[0] as string));
  const stale = await present(workspace, names);
  let kept = new Set<string>();
  if (stale.length > 0) {
    await removeEntries(workspace, stale);
    // What is still there after the removal is the user's (a directory with content): never the run's to remove.
    kept = new Set((await present(workspace, names)).map((e) => e.name));
  }
  const created = new Set([...names].filter((n) => !kept.has(n)));
  return () => removeStubs(workspace, created);
}
