import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { AppError, ErrorCode } from "../../../shared/src/errors.ts";
import type { FileEntry, FileList, FileWritten } from "../../../shared/src/files.ts";
import { collectEntries, toEntry } from "./dir-tree.ts";
import { removeTree } from "./remove-tree.ts";
import { type Owner, fsCode, lstatAt, withWorkspaceDir, workspaceSegments } from "./safe-open.ts";

/*
 * File API operations on a thread workspace, run by a root server on behalf of a client while hostile
 * sandbox code may be changing the same tree. Every path goes through safe-open, so nothing here
 * follows a planted symlink. A host file hard-linked into the workspace *is* readable (it is a
 * workspace entry); X12 stops such links from being made, and writes replace the entry by rename, so
 * they never modify a linked inode.
 */

/** Splits a path into its parent segments and final name; the root has no name. */
function splitTarget(relPath: string, what: string): { parent: string[]; name: string; path: string } {
  const segments = workspaceSegments(relPath);
  const name = segments.pop();
  if (name === undefined) {
    throw new AppError(ErrorCode.NOT_A_FILE, `The workspace root is a directory; cannot ${what} it.`);
  }
  return { parent: segments, name, path: [...segments, name].join("/") };
}

function notFound(path: string): AppError {
  return new AppError(ErrorCode.FILE_NOT_FOUND, `"${path}" does not exist.`, { path });
}

function notAFile(path: string, kind: string): AppError {
  return new AppError(ErrorCode.NOT_A_FILE, `"${path}" is a ${kind}, not a regular file.`, { path });
}

function tooLarge(path: string, maxBytes: number): AppError {
  return new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `"${path}" is larger than ${maxBytes} bytes.`, {
    path,
    max_bytes: maxBytes,
  });
}

/** Reads to EOF but never more than maxBytes + 1 bytes, so a file growing under us cannot exhaust memory. */
async function readAtMost(fh: FileHandle, expected: number, maxBytes: number): Promise<Buffer | null> {
  const limit = maxBytes + 1;
  let buf = Buffer.alloc(Math.min(limit, expected + 1));
  let total = 0;
  for (;;) {
    if (total === buf.length) {
      if (buf.length >= limit) break;
      const bigger = Buffer.alloc(Math.min(limit, buf.length * 2));
      buf.copy(bigger);
      buf = bigger;
    }
    const { bytesRead } = await fh.read(buf, total, buf.length - total, null);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return total > maxBytes ? null : buf.subarray(0, total);
}

export async function readWorkspaceFile(
  root: string,
  relPath: string,
  maxBytes: number,
): Promise<{ data: Buffer; size: number; modified_at: string }> {
  const { parent, name, path } = splitTarget(relPath, "read");
  return withWorkspaceDir(root, parent, {}, async (dir) => {
    const st = await lstatAt(dir, name);
    if (st === null) throw notFound(path);
    if (!st.isFile()) throw notAFile(path, toEntry(path, st).type);
    if (st.size > maxBytes) throw tooLarge(path, maxBytes);
    // O_NOFOLLOW: a link swapped in since the lstat fails; O_NONBLOCK: a swapped-in FIFO cannot hang us.
    const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
    const fh = await open(dir.at(name), flags).catch((err: unknown) => {
      if (fsCode(err) === "ENOENT") throw notFound(path);
      if (fsCode(err) === "ELOOP") throw notAFile(path, "symlink");
      throw err;
    });
    try {
      const fst = await fh.stat();
      if (!fst.isFile() || fst.dev !== st.dev || fst.ino !== st.ino) {
        throw notAFile(path, "entry that changed while being opened");
      }
      const data = await readAtMost(fh, fst.size, maxBytes);
      if (data === null) throw tooLarge(path, maxBytes);
      return { data, size: data.length, modified_at: fst.mtime.toISOString() };
    } finally {
      await fh.close();
    }
  });
}

/** Writes atomically: a temp file in the verified parent, then rename over the target (a link is replaced). */
export async function writeWorkspaceFile(
  root: string,
  relPath: string,
  data: Uint8Array,
  opts: { mode?: number; owner?: Owner } = {},
): Promise<FileWritten> {
  const { parent, name, path } = splitTarget(relPath, "write");
  // We run as root: a setuid/setgid bit here would hand the sandbox a root-owned setuid binary (X16).
  const mode = (opts.mode ?? 0o644) & 0o777;
  return withWorkspaceDir(root, parent, { create: true, owner: opts.owner }, async (dir) => {
    if ((await lstatAt(dir, name))?.isDirectory()) throw notAFile(path, "directory");
    const tmp = `.threadbox-write-${randomBytes(8).toString("hex")}.tmp`;
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const fh = await open(dir.at(tmp), flags, mode);
    let renamed = false;
    try {
      try {
        await fh.writeFile(data);
        await fh.chmod(mode); // the umask may have narrowed the mode given to open
        if (opts.owner) await fh.chown(opts.owner.uid, opts.owner.gid);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(dir.at(tmp), dir.at(name)).catch((err: unknown) => {
        if (fsCode(err) === "EISDIR" || fsCode(err) === "ENOTEMPTY") throw notAFile(path, "directory");
        throw err;
      });
      renamed = true;
    } finally {
      if (!renamed) await unlink(dir.at(tmp)).catch(() => undefined);
    }
    return { path, size: data.byteLength };
  });
}

/**
 * Creates a file only when nothing is at the path (O_CREAT | O_EXCL never follows a final link: EEXIST); returns
 * whether it did. For the files a workspace starts with, written once and never over what the thread put there.
 */
export async function createWorkspaceFile(root: string, relPath: string, data: Uint8Array, opts: { owner?: Owner } = {}): Promise<boolean> {
  const { parent, name } = splitTarget(relPath, "create");
  return withWorkspaceDir(root, parent, { create: true, owner: opts.owner }, async (dir) => {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const fh = await open(dir.at(name), flags, 0o644).catch((err: unknown) => {
      if (fsCode(err) === "EEXIST") return null;
      throw err;
    });
    if (fh === null) return false;
    try {
      await fh.writeFile(data);
      await fh.chmod(0o644);
      if (opts.owner) await fh.chown(opts.owner.uid, opts.owner.gid);
    } finally {
      await fh.close();
    }
    return true;
  });
}

export async function listWorkspaceDir(
  root: string,
  relPath: string,
  opts: { recursive?: boolean; maxEntries?: number } = {},
): Promise<FileList> {
  const segments = workspaceSegments(relPath);
  return withWorkspaceDir(root, segments, {}, async (dir) => {
    const entries: FileEntry[] = [];
    const limits = { recursive: opts.recursive ?? false, maxEntries: opts.maxEntries ?? 10_000 };
    await collectEntries(dir, entries, limits);
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { path: segments.join("/"), entries };
  });
}

export async function deleteWorkspacePath(
  root: string,
  relPath: string,
  opts: { recursive?: boolean } = {},
): Promise<void> {
  if (workspaceSegments(relPath).length === 0) {
    throw new AppError(ErrorCode.INVALID_PATH, "The workspace root cannot be deleted.", { path: "" });
  }
  const { parent, name, path } = splitTarget(relPath, "delete");
  await withWorkspaceDir(root, parent, {}, async (dir) => {
    const st = await lstatAt(dir, name);
    if (st === null) throw notFound(path);
    if (!st.isDirectory()) {
      // unlink never follows the final component: deleting a symlink deletes the link only.
      return unlink(dir.at(name)).catch((err: unknown) => {
        if (fsCode(err) === "EISDIR") throw notAFile(path, "directory (pass recursive to delete it)");
        if (fsCode(err) !== "ENOENT") throw err;
      });
    }
    if (opts.recursive !== true) {
      throw new AppError(ErrorCode.NOT_A_FILE, `"${path}" is a directory; pass recursive to delete it.`, { path });
    }
    await removeTree(dir, name);
  });
}

/** The entry at the path as lstat sees it, or null when it does not exist. */
export async function statWorkspacePath(root: string, relPath: string): Promise<FileEntry | null> {
  const segments = workspaceSegments(relPath);
  const name = segments.pop();
  try {
    return await withWorkspaceDir(root, segments, {}, async (dir) => {
      if (name === undefined) return toEntry("", await dir.handle.stat());
      const st = await lstatAt(dir, name);
      return st === null ? null : toEntry(dir.child(name), st);
    });
  } catch (err) {
    // A missing or non-directory parent means the entry does not exist; a symlinked one stays an error.
    const missing = err instanceof AppError && (err.code === "FILE_NOT_FOUND" || err.code === "NOT_A_DIRECTORY");
    if (missing) return null;
    throw err;
  }
}
