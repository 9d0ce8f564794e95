import { constants, type Stats } from "node:fs";
import { lstat, mkdir, open, readlink, realpath, type FileHandle } from "node:fs/promises";
import { AppError, ErrorCode } from "../../../shared/src/errors.ts";
import { normalizeWorkspacePath } from "../../../shared/src/files.ts";

/*
 * Why not "lstat every component, then open the path": the sandbox can swap a checked directory for a
 * symlink between the lstat and the open, and O_NOFOLLOW only guards the last component, so an
 * O_CREAT would land outside the workspace before any after-the-fact check could notice (X11).
 *
 * Instead we walk with directory fds, like openat(2): each step opens `/proc/self/fd/<parent>/<name>`
 * with O_DIRECTORY | O_NOFOLLOW. The kernel resolves `/proc/self/fd/<parent>` to the directory we
 * already hold (by inode, not by name), and `<name>` is a single final component, so a symlink there
 * fails (ENOTDIR/ELOOP) and a later swap of any name we already passed changes nothing: our fds keep
 * pointing at the directories we checked. Every mutation (mkdir, rename, unlink, rmdir) is also done
 * through such a path, so it acts on one entry inside a held directory. Node opens with O_CLOEXEC,
 * so none of these fds leak into sandbox processes we spawn. This needs Linux with /proc mounted (the
 * runtime's only target); without it every step fails, so we fail closed rather than fall back.
 *
 * Remaining races are inside the workspace only: the sandbox may rename or replace the final entry
 * between our lstat and our open or rename. Reads open with O_NOFOLLOW | O_NONBLOCK (no symlink, no
 * hang on a FIFO) and compare the fd's (dev, ino) with the lstat; writes replace the entry by rename
 * and never write through it.
 */

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** The sandbox uid/gid that owns what the server creates, so the user's code can change it (null: leave as is). */
export type Owner = { uid: number; gid: number } | null;

/** An open directory inside the workspace; `at(name)` names one entry in it, race-free. */
export class OpenDir {
  constructor(
    readonly handle: FileHandle,
    /** Workspace-relative path of this directory as we walked it ("" for the root). */
    readonly relPath: string,
  ) {}

  get self(): string {
    return `/proc/self/fd/${this.handle.fd}`;
  }

  /** `name` is a single segment (normalized paths and readdir names never hold "/"). */
  at(name: string): string {
    return `${this.self}/${name}`;
  }

  child(name: string): string {
    return this.relPath === "" ? name : `${this.relPath}/${name}`;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** The errno code of a Node fs error, if it is one. */
export function fsCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

/** Re-checks a caller's path (defence in depth) and splits it; [] is the workspace root. */
export function workspaceSegments(relPath: string): string[] {
  const normalized = normalizeWorkspacePath(relPath);
  if (normalized === null) {
    throw new AppError(ErrorCode.INVALID_PATH, "The path is not a safe workspace path.", { path: relPath });
  }
  return normalized === "" ? [] : normalized.split("/");
}

/** lstat of one entry in a held directory; null when it does not exist. */
export async function lstatAt(dir: OpenDir, name: string): Promise<Stats | null> {
  try {
    return await lstat(dir.at(name));
  } catch (err) {
    if (fsCode(err) === "ENOENT") return null;
    throw err;
  }
}

/** Opens a child directory without following a symlink; raw fs errors propagate. */
export async function openDirAt(parent: OpenDir, name: string): Promise<OpenDir> {
  return new OpenDir(await open(parent.at(name), DIR_FLAGS), parent.child(name));
}

/**
 * One step of the walk. A failed open is classified by lstat; when the lstat then sees a directory,
 * the entry changed under us (a sandbox `mv`), so we try again a few times rather than mislabel it.
 */
async function stepInto(dir: OpenDir, name: string, create: boolean, owner: Owner): Promise<OpenDir> {
  const path = dir.child(name);
  let created = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const next = await openDirAt(dir, name);
      // fchown on the fd we hold: the directory we made, whatever the sandbox renamed meanwhile.
      if (created && owner) await next.handle.chown(owner.uid, owner.gid);
      return next;
    } catch (err) {
      if (!["ENOENT", "ENOTDIR", "ELOOP"].includes(fsCode(err) ?? "")) throw err;
    }
    const st = await lstatAt(dir, name);
    if (st === null) {
      if (!create) throw new AppError(ErrorCode.FILE_NOT_FOUND, `"${path}" does not exist.`, { path });
      // mkdir never follows a final symlink (EEXIST); the next open re-checks whatever is there.
      created = await mkdir(dir.at(name), 0o755).then(
        () => true,
        (e: unknown) => {
          if (fsCode(e) !== "EEXIST") throw e;
          return false;
        },
      );
    } else if (st.isSymbolicLink()) {
      const message = `"${path}" is a symlink; file operations do not follow links.`;
      throw new AppError(ErrorCode.INVALID_PATH, message, { path });
    } else if (!st.isDirectory()) {
      throw new AppError(ErrorCode.NOT_A_DIRECTORY, `"${path}" is not a directory.`, { path });
    }
  }
  throw new AppError(ErrorCode.INVALID_PATH, `"${path}" kept changing while being opened.`, { path });
}

/**
 * Opens the directory at `segments` (all of them) inside `root`, creating missing ones when asked.
 * The caller owns the returned directory and must close it.
 */
export async function openWorkspaceDir(
  root: string,
  segments: readonly string[],
  opts: { create?: boolean; owner?: Owner } = {},
): Promise<OpenDir> {
  // The root path is host configuration, not sandbox input, so resolving it once is safe.
  const realRoot = await realpath(root);
  let dir = new OpenDir(await open(realRoot, DIR_FLAGS), "");
  try {
    for (const name of segments) {
      const next = await stepInto(dir, name, opts.create === true, opts.owner ?? null);
      await dir.close();
      dir = next;
    }
    await assertInside(dir, realRoot);
    return dir;
  } catch (err) {
    await dir.close().catch(() => undefined);
    throw err;
  }
}

/** Belt and braces: the directory we hold must still live under the workspace root. */
async function assertInside(dir: OpenDir, realRoot: string): Promise<void> {
  const where = await readlink(dir.self);
  if (where === realRoot || where.startsWith(realRoot.endsWith("/") ? realRoot : `${realRoot}/`)) return;
  throw new AppError(ErrorCode.INVALID_PATH, "The path left the workspace.", { path: dir.relPath });
}

/** Opens the directory, runs `fn` with it, and always closes it. */
export async function withWorkspaceDir<T>(
  root: string,
  segments: readonly string[],
  opts: { create?: boolean; owner?: Owner },
  fn: (dir: OpenDir) => Promise<T>,
): Promise<T> {
  const dir = await openWorkspaceDir(root, segments, opts);
  try {
    return await fn(dir);
  } finally {
    await dir.close();
  }
}
