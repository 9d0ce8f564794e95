import type { Stats } from "node:fs";
import { opendir } from "node:fs/promises";
import { AppError, ErrorCode } from "../../../shared/src/errors.ts";
import type { FileEntry } from "../../../shared/src/files.ts";
import { lstatAt, openDirAt, type OpenDir } from "./safe-open.ts";

/**
 * Recursion holds one fd per level (a walk that drops them would have to re-resolve names, which is
 * exactly the race safe-open avoids), so the depth is bounded; the sandbox can nest far deeper.
 */
const MAX_DEPTH = 256;

/** Describes an lstat result; symlinks are reported as links, never followed. */
export function toEntry(path: string, st: Stats): FileEntry {
  const type = st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "directory" : st.isFile() ? "file" : "other";
  return {
    path,
    name: path.slice(path.lastIndexOf("/") + 1),
    type,
    size: type === "file" ? st.size : 0,
    modified_at: st.mtime.toISOString(),
  };
}

function tooDeep(path: string): AppError {
  return new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `"${path}" is nested deeper than ${MAX_DEPTH} levels.`, {
    path,
    max_depth: MAX_DEPTH,
  });
}

/** Names in a held directory; stops early once more than `limit` were read. */
export async function readNames(dir: OpenDir, limit: number): Promise<string[]> {
  const names: string[] = [];
  // The async iterator closes the directory on completion, break and throw alike.
  for await (const dirent of await opendir(dir.self)) {
    names.push(dirent.name);
    if (names.length > limit) break;
  }
  return names;
}

/** Appends the entries of `dir` (and below, when recursive) to `out`, at most `maxEntries` in all. */
export async function collectEntries(
  dir: OpenDir,
  out: FileEntry[],
  opts: { recursive: boolean; maxEntries: number },
  depth = 0,
): Promise<void> {
  const tooMany = () =>
    new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `More than ${opts.maxEntries} entries; list a subdirectory.`, {
      path: dir.relPath,
      max_entries: opts.maxEntries,
    });
  const names = await readNames(dir, opts.maxEntries - out.length);
  for (const name of names) {
    const st = await lstatAt(dir, name);
    if (st === null) continue; // deleted since readdir
    if (out.length >= opts.maxEntries) throw tooMany();
    out.push(toEntry(dir.child(name), st));
    if (!opts.recursive || !st.isDirectory()) continue;
    if (depth + 1 >= MAX_DEPTH) throw tooDeep(dir.child(name));
    // A directory swapped for a symlink since the lstat fails to open here; it stays listed, undescended.
    const child = await openDirAt(dir, name).catch(() => null);
    if (child === null) continue;
    try {
      await collectEntries(child, out, opts, depth + 1);
    } finally {
      await child.close();
    }
  }
}
