import type { Stats } from "node:fs";
import { constants } from "node:fs";
import { lchown, open, opendir } from "node:fs/promises";
import { type OpenDir, fsCode, lstatAt, openDirAt, openWorkspaceDir } from "./safe-open.ts";

const MAX_DEPTH = 256;

/** A change for one entry: new owner and/or mode; null leaves it as it is. */
type Change = { uid?: number; gid?: number; mode?: number } | null;

/**
 * Walks a tree the sandbox may be changing under us, the way the rest of files/ does: directories are held by fd,
 * every entry is reached through the directory we hold, a directory swapped for a link is not descended, and a mode
 * is changed only on an fd opened with O_NOFOLLOW (chmod has no "don't follow" form on Linux). So a racing sandbox
 * cannot steer the walk out of the tree. Deeper than MAX_DEPTH, or past `maxEntries`, is left as it is.
 */
async function adjustTree(root: string, change: (st: Stats) => Change, maxEntries = 100_000): Promise<void> {
  const dir = await openWorkspaceDir(root, []);
  const budget = { left: maxEntries };
  try {
    await applyToDir(dir, await dir.handle.stat(), change);
    await adjustEntries(dir, change, 0, budget);
  } finally {
    await dir.close();
  }
}

async function applyToDir(dir: OpenDir, st: Stats, change: (st: Stats) => Change): Promise<void> {
  const c = change(st);
  if (!c) return;
  if (c.uid !== undefined || c.gid !== undefined) await dir.handle.chown(c.uid ?? st.uid, c.gid ?? st.gid);
  if (c.mode !== undefined) await dir.handle.chmod(c.mode);
}

async function adjustEntries(dir: OpenDir, change: (st: Stats) => Change, depth: number, budget: { left: number }): Promise<void> {
  for await (const dirent of await opendir(dir.self)) {
    if (--budget.left < 0) return;
    const st = await lstatAt(dir, dirent.name);
    const c = st && change(st);
    if (st?.isDirectory()) {
      if (depth + 1 >= MAX_DEPTH) continue;
      const child = await openDirAt(dir, dirent.name).catch(() => null);
      if (child === null) continue;
      try {
        await applyToDir(child, st, change);
        await adjustEntries(child, change, depth + 1, budget);
      } finally {
        await child.close();
      }
    } else if (c) {
      await adjustEntry(dir, dirent.name, st, c).catch((err: unknown) => {
        if (!["ENOENT", "ELOOP", "ENXIO", "EACCES"].includes(fsCode(err) ?? "")) throw err;
      });
    }
  }
}

async function adjustEntry(dir: OpenDir, name: string, st: Stats, c: NonNullable<Change>): Promise<void> {
  if (c.uid !== undefined || c.gid !== undefined) await lchown(dir.at(name), c.uid ?? st.uid, c.gid ?? st.gid);
  if (c.mode === undefined || !st.isFile()) return;
  const fh = await open(dir.at(name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const now = await fh.stat();
    if (now.ino === st.ino && now.dev === st.dev) await fh.chmod(c.mode);
  } finally {
    await fh.close();
  }
}

/**
 * Gives a thread's tree to its owner (its uid changed: a workspace made on another runtime, or before per-thread
 * uids). Anything root owns is left alone: the runtime writes none, so one is a host file linked in (X12).
 */
export function chownTree(root: string, owner: { uid: number; gid: number }): Promise<void> {
  return adjustTree(root, (st) => (st.uid === 0 ? null : { uid: owner.uid, gid: owner.gid }));
}

/**
 * Gives every entry of a tree the runtime itself just made (no sandbox has seen it, e.g. a copy it made)
 * to the thread; links are changed, never followed.
 */
export function giveTree(root: string, owner: { uid: number; gid: number }): Promise<void> {
  return adjustTree(root, () => ({ uid: owner.uid, gid: owner.gid }));
}

/**
 * Makes what one uid of a group wrote readable and writable by the group (the owner's bits copied to the group's):
 * for a tenant's package cache, where pip writes its entries 0600 whatever the umask.
 */
export function shareWithGroup(root: string, gid: number): Promise<void> {
  return adjustTree(root, (st) => {
    if (st.gid !== gid || st.isSymbolicLink()) return null;
    const mode = (st.mode & 0o7777) | ((st.mode & 0o600) >> 3) | (st.isDirectory() ? 0o2010 : 0);
    return mode === (st.mode & 0o7777) ? null : { mode };
  });
}
