import { lstat, readdir, readlink, rmdir, unlink } from "node:fs/promises";
import path from "node:path";

/**
 * proot and bwrap create a mount point in the workspace for every bind whose target is missing there (`/usr`,
 * `/proc`, `/workspace`, ...). They are the sandbox's, not the user's: this removes them after a run (and stale ones
 * before), so file listings and the bucket hold only the user's files. Only empty directories and our own
 * usr-merge symlinks are removed, never anything with content.
 */
export async function removeStubs(workspace: string, names: Iterable<string>): Promise<void> {
  for (const name of names) {
    const p = path.join(workspace, name);
    const st = await lstat(p).catch(() => null);
    if (!st) continue;
    if (st.isSymbolicLink()) {
      if ((await readlink(p).catch(() => "")).startsWith("usr/")) await unlink(p).catch(() => undefined);
    } else if (st.isDirectory()) {
      await rmdir(p).catch(() => undefined); // ENOTEMPTY keeps a directory the user filled
    }
  }
}

/** Names at the top of the workspace now, to tell our stubs from the user's own entries afterwards. */
async function topLevelNames(workspace: string): Promise<Set<string>> {
  return new Set(await readdir(workspace).catch(() => []));
}

/** Prepares a run: stale stubs removed; returns the cleanup that removes the ones this run creates. */
export async function stubGuard(workspace: string, mountPoints: string[]): Promise<() => Promise<void>> {
  const names = mountPoints.map((m) => m.replace(/^\//, "").split("/")[0] as string);
  await removeStubs(workspace, names);
  const before = await topLevelNames(workspace);
  return () => removeStubs(workspace, names.filter((n) => !before.has(n)));
}
