import { constants } from "node:fs";
import { chmod, chown, copyFile, lchown, mkdir, symlink, utimes } from "node:fs/promises";
import path from "node:path";
import { AppError, ErrorCode, normalizeWorkspacePath } from "../../../shared/src/index.ts";
import type { Owner } from "../files/safe-open.ts";
import type { BlobDir } from "./blobs.ts";
import type { Manifest, ManifestEntry } from "./manifest.ts";

const BATCH = 16;

/**
 * Writes a checkpoint's tree into `staging`, a fresh directory of root's (0700) beside the workspaces that no sandbox
 * can reach, so working by path is safe here; the caller swaps it in whole (swap.ts). Files are copies of their
 * blobs, never links to them (the thread could otherwise change a blob every checkpoint shares); each is given to
 * the thread's uid with its mode (permission bits only) and mtime; links are made as links with their target text.
 */
export async function buildTree(staging: string, manifest: Manifest, blobs: BlobDir, owner: Owner): Promise<void> {
  const at = (e: ManifestEntry) => path.join(staging, checkedPath(e.path));
  const dirs = manifest.entries.filter((e) => e.type === "dir");
  // Walk order puts a directory before its contents.
  for (const d of dirs) await mkdir(at(d), 0o700);
  const leaves = manifest.entries.filter((e) => e.type !== "dir");
  for (let i = 0; i < leaves.length; i += BATCH) {
    await Promise.all(leaves.slice(i, i + BATCH).map((e) => writeLeaf(at(e), e, blobs, owner)));
  }
  // Modes last and deepest first, so a read-only directory does not stop what goes in it (and for its own sake).
  for (const d of dirs.reverse()) {
    if (owner) await chown(at(d), owner.uid, owner.gid);
    await chmod(at(d), d.mode & 0o777);
  }
}

async function writeLeaf(target: string, e: ManifestEntry, blobs: BlobDir, owner: Owner): Promise<void> {
  if (e.type === "symlink") {
    await symlink(e.target, target);
    if (owner) await lchown(target, owner.uid, owner.gid);
    return;
  }
  if (e.type !== "file") return;
  await copyFile(blobs.path(e.hash), target, constants.COPYFILE_EXCL);
  if (owner) await chown(target, owner.uid, owner.gid);
  // After chown (which may clear set-id bits anyway): permission bits only, never a set-id bit (X16).
  await chmod(target, e.mode & 0o777);
  const mtime = new Date(e.mtime_ms);
  await utimes(target, mtime, mtime);
}

/** The manifest is root's own file, but a path in it is checked again before it is joined to anything. */
function checkedPath(p: string): string {
  if (p === "" || normalizeWorkspacePath(p) !== p) {
    throw new AppError(ErrorCode.INTERNAL_ERROR, "a checkpoint's manifest names an unsafe path", { path: p });
  }
  return p;
}
