import path from "node:path";
import { AppError, ErrorCode, normalizeWorkspacePath } from "../../../shared/src/index.ts";
import { withWorkspaceDir, workspaceSegments } from "../files/safe-open.ts";

export interface GuestDir {
  /** Absolute guest path to run in. */
  guest: string;
  /** Workspace-relative path when the directory is inside the workspace ("" = root), else null. */
  workspaceRel: string | null;
}

/**
 * Resolves a client's working directory: `/workspace/x`, `/x` and `x` all name the workspace's `x` (the workspace is
 * `/` and `/workspace` in the guest). Other absolute guest paths (/tmp, /usr) pass through as they are.
 */
export function resolveGuestDir(guestRoot: string, requested: string | undefined): GuestDir {
  const raw = requested ?? "/";
  const absolute = path.posix.normalize(raw.startsWith("/") ? raw : `/${raw}`);
  const inWorkspace = !/^\/(tmp|usr|etc|var|dev|proc|sys|opt|bin|sbin|lib\w*)(\/|$)/.test(absolute);
  if (!inWorkspace) {
    if (guestRoot !== "/") throw new AppError(ErrorCode.INVALID_PATH, `working directory ${raw} is outside the workspace`);
    return { guest: absolute, workspaceRel: null };
  }
  const rel = normalizeWorkspacePath(absolute);
  if (rel === null) throw new AppError(ErrorCode.INVALID_PATH, `working directory ${raw} is not a valid path`);
  return { guest: path.posix.join(guestRoot, rel), workspaceRel: rel };
}

/**
 * Fails with a 400 naming the directory when it is not a directory of the workspace. Walked like the file API walks
 * (no link followed): a path through a link the thread planted is refused exactly like a missing one, so the answer
 * says nothing about what exists on the host behind the link.
 */
export async function requireWorkspaceDir(workspace: string, dir: GuestDir, requested: string | undefined): Promise<void> {
  if (dir.workspaceRel === null) return;
  const rel = dir.workspaceRel;
  const found = await withWorkspaceDir(workspace, workspaceSegments(rel), {}, async () => true).catch(() => false);
  if (!found) {
    throw new AppError(ErrorCode.INVALID_PATH, `working directory ${requested ?? "/"} does not exist in the workspace`);
  }
}
