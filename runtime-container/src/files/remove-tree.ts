import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, rename, rmdir, unlink } from "node:fs/promises";
import { readNames } from "./dir-tree.ts";
import { OpenDir, fsCode, lstatAt, openDirAt } from "./safe-open.ts";

/**
 * Directory levels held open at once. A deeper directory is moved up into the top of the tree being removed (a rename
 * inside a held directory, so still nothing by path) and emptied from there: any depth is removed with bounded fds.
 */
const HOLD_DEPTH = 64;
/** Entries of one directory lstat'ed and unlinked at once (thread-pool round trips dominate a large delete). */
const BATCH = 32;

async function ignoreMissing(op: Promise<void>): Promise<void> {
  await op.catch((err: unknown) => {
    if (fsCode(err) !== "ENOENT") throw err;
  });
}

/**
 * Removes `name` in `parent` and everything below it. Unlike fs.rm({recursive}), which re-resolves path strings and so
 * can be steered through a directory swapped for a symlink mid-walk (into another thread's workspace), every step acts
 * on an entry of a directory fd we hold: a planted link is unlinked, never descended, and a directory swapped for a
 * link after its lstat fails to open (O_NOFOLLOW) and is unlinked as the link it now is.
 */
export async function removeTree(parent: OpenDir, name: string): Promise<void> {
  const top = await openOrUnlink(parent, name);
  if (top === null) return;
  try {
    const hoisted: string[] = [];
    await emptyDir(top, top, hoisted, 0);
    // Each hoisted directory is one level below the top again; emptying it may hoist more.
    for (let next = hoisted.pop(); next !== undefined; next = hoisted.pop()) await removeEntry(top, next, top, hoisted, 0);
  } finally {
    await top.close();
  }
  await ignoreMissing(rmdir(parent.at(name)));
}

/**
 * Removes the entry `name` of the runtime's own directory `parentPath` (a path only root can change: a workspace's
 * tenant directory, STATE_DIR/venvs/<tenant>, ...), whatever the sandbox made of the tree below it. A missing parent
 * or entry is fine.
 */
export async function removeHostEntry(parentPath: string, name: string): Promise<void> {
  const flags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
  const handle = await open(parentPath, flags).catch((err: unknown) => {
    if (fsCode(err) === "ENOENT") return null;
    throw err;
  });
  if (handle === null) return;
  const parent = new OpenDir(handle, "");
  try {
    await removeTree(parent, name);
  } finally {
    await parent.close();
  }
}

/** The directory `name` opened without following a link; a non-directory is unlinked (null), as is a missing one. */
async function openOrUnlink(dir: OpenDir, name: string): Promise<OpenDir | null> {
  try {
    return await openDirAt(dir, name);
  } catch (err) {
    const code = fsCode(err);
    if (code === "ENOENT") return null;
    if (code !== "ENOTDIR" && code !== "ELOOP") throw err;
  }
  await ignoreMissing(unlink(dir.at(name)));
  return null;
}

async function emptyDir(dir: OpenDir, top: OpenDir, hoisted: string[], depth: number): Promise<void> {
  const names = await readNames(dir, Number.POSITIVE_INFINITY);
  for (let i = 0; i < names.length; i += BATCH) {
    const batch = names.slice(i, i + BATCH);
    const found = await Promise.all(batch.map(async (n) => ({ name: n, st: await lstatAt(dir, n) })));
    // Files and links at once; directories one at a time (each holds fds down its depth).
    await Promise.all(found.map(({ name, st }) => (st && !st.isDirectory() ? ignoreMissing(unlink(dir.at(name))) : undefined)));
    for (const { name, st } of found) if (st?.isDirectory()) await removeEntry(dir, name, top, hoisted, depth);
  }
}

/** Removes one directory entry of `dir` found to be a directory (it may have changed since). */
async function removeEntry(dir: OpenDir, name: string, top: OpenDir, hoisted: string[], depth: number): Promise<void> {
  if (depth + 1 >= HOLD_DEPTH) {
    const moved = `.threadbox-rm-${randomBytes(8).toString("hex")}`;
    const ok = await rename(dir.at(name), top.at(moved)).then(
      () => true,
      (err: unknown) => {
        if (fsCode(err) === "ENOENT") return false;
        throw err;
      },
    );
    if (ok) hoisted.push(moved);
    return;
  }
  const child = await openOrUnlink(dir, name);
  if (child === null) return;
  try {
    await emptyDir(child, top, hoisted, depth + 1);
  } finally {
    await child.close();
  }
  await ignoreMissing(rmdir(dir.at(name)));
}
