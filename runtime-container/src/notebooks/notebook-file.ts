import { AppError, ErrorCode, type Notebook, normalizeWorkspacePath } from "../../../shared/src/index.ts";
import { readWorkspaceFile, writeWorkspaceFile } from "../files/file-ops.ts";
import type { Owner } from "../files/safe-open.ts";
import { parseNotebookText } from "./notebook-doc.ts";

/**
 * A notebook file of the thread's workspace, read and written by the root runtime through the link-safe file ops:
 * a link or FIFO the sandbox planted at the path (or on the way to it) is refused (NOT_A_FILE, 409), never followed,
 * and the outputs are written aside and renamed in, so a link swapped in meanwhile is replaced, not written through.
 */

/** The workspace-relative path of a notebook named as `/workspace/a.ipynb`, `/a.ipynb` or `a.ipynb`. */
export function notebookRel(requested: string): string {
  const rel = normalizeWorkspacePath(requested);
  if (rel === null || rel === "") {
    throw new AppError(ErrorCode.INVALID_PATH, `notebook ${JSON.stringify(requested)} is not a file path in the workspace`, { path: requested });
  }
  return rel;
}

export async function readNotebookFile(workspace: string, rel: string, maxBytes: number): Promise<Notebook> {
  const { data } = await readWorkspaceFile(workspace, rel, maxBytes);
  return parseNotebookText(new TextDecoder().decode(data), `notebook ${rel}`);
}

/** Writes the notebook as Jupyter does (one-space indent, a final newline), owned by the thread. */
export async function writeNotebookFile(workspace: string, rel: string, nb: Notebook, owner: Owner): Promise<void> {
  const text = `${JSON.stringify(nb, null, 1)}\n`;
  await writeWorkspaceFile(workspace, rel, new TextEncoder().encode(text), { owner });
}
