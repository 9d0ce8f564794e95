import { AppError, ErrorCode, normalizeWorkspacePath } from "../../../shared/src/index.ts";
import { deleteWorkspacePath, writeWorkspaceFile } from "./file-ops.ts";

/**
 * Writes text files under a workspace-relative base directory, atomically and without following links, owned by
 * the sandbox uid so the user's code can change them.
 */
export async function writeRequestFiles(
  root: string,
  baseRel: string,
  files: Record<string, string>,
  owner: { uid: number; gid: number } | null,
): Promise<string[]> {
  const written: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const rel = normalizeWorkspacePath(baseRel ? `${baseRel}/${name}` : name) ?? name;
    await writeWorkspaceFile(root, rel, new TextEncoder().encode(content), { owner });
    written.push(rel);
  }
  return written;
}

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
