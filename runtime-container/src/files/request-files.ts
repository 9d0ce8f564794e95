import { AppError, ErrorCode, normalizeWorkspacePath } from "../../../shared/src/index.ts";
import type { DiskQuota } from "../quota/disk-quota.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { deleteWorkspacePath, writeWorkspaceFile } from "./file-ops.ts";

/**
 * Room for `bytes` the runtime is about to write for the thread, from its disk quota (`DiskQuota.reserve`): refused
 * (507) when it would take the thread over; the function it gives is called once the files are written (or not).
 */
export type ReserveRoom = (bytes: number) => Promise<(written: boolean) => void>;

/**
 * Writes text files under a workspace-relative base directory, atomically and without following links, owned by
 * the sandbox uid so the user's code can change them. The runtime writes them as root, which the filesystem's
 * reserved blocks do not stop: with `reserve`, their room is taken from the thread's disk quota first.
 */
export async function writeRequestFiles(
  root: string,
  baseRel: string,
  files: Record<string, string>,
  owner: { uid: number; gid: number } | null,
  reserve?: ReserveRoom,
): Promise<string[]> {
  const encoder = new TextEncoder();
  const contents = Object.entries(files).map(([name, content]) => [name, encoder.encode(content)] as const);
  if (contents.length === 0) return [];
  const done = await reserve?.(contents.reduce((sum, [, data]) => sum + data.byteLength, 0));
  const written: string[] = [];
  try {
    for (const [name, data] of contents) {
      const rel = normalizeWorkspacePath(baseRel ? `${baseRel}/${name}` : name) ?? name;
      await writeWorkspaceFile(root, rel, data, { owner });
      written.push(rel);
    }
  } finally {
    done?.(written.length > 0);
  }
  return written;
}

/** The reservation every request file goes through (the message names what was refused). */
export const requestFilesRoom =
  (quota: DiskQuota, loc: WorkspaceLocation): ReserveRoom =>
  (bytes) =>
    quota.reserve(loc, bytes, "writing the request's files was refused");

/**
 * Removes a directory the runtime made for one run (`.threadbox/runs/<id>`) and everything the run put in it. The
 * thread can still be changing it (a context of the same thread runs on), so this walks held directory fds and never
 * follows a link; it is best effort: what it cannot remove stays in the thread's own workspace, and the run's result
 * stands (`warn` says why).
 */
export async function removeRunDir(root: string, rel: string, warn: (msg: string, fields: Record<string, unknown>) => void): Promise<void> {
  await deleteWorkspacePath(root, rel, { recursive: true }).catch((err: unknown) => {
    if (err instanceof AppError && err.code === ErrorCode.FILE_NOT_FOUND) return;
    warn("the run directory could not be removed", { path: rel, error: String(err) });
  });
}
