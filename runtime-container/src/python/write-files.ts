import { normalizeWorkspacePath } from "../../../shared/src/index.ts";
import { writeWorkspaceFile } from "../files/file-ops.ts";

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
