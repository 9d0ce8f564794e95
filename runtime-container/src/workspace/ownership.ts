import { chmod, lchown, lstat, mkdir } from "node:fs/promises";
import path from "node:path";
import { chownTree } from "../files/chown-tree.ts";
import { fsCode, withWorkspaceDir } from "../files/safe-open.ts";
import type { Logger } from "../logger.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { removePlantedEntries } from "./planted.ts";

/** Directories only their owner enters: a thread's workspace and private tmp dirs, never readable by other uids. */
const PRIVATE = 0o700;
/** Root's directories above them: traverse-only, so a sandbox uid reaches its own but cannot list the others. */
const TRAVERSE = 0o711;
/** A tenant's package cache: root's, group = the tenant's gid, setgid so what its threads add keeps that group. */
const TENANT_SHARED = 0o2770;

/**
 * Creates a thread's directories with the ownership the isolation needs (idempotent, run before every use):
 * the workspace, its `.threadbox` and the private /tmp, /var/tmp, /dev/shm owned by the thread's uid (mode 0700);
 * the tenant's package cache shared by its threads only; everything above root's and traverse-only.
 * When the thread's uid changed (a workspace made on another runtime, or before per-thread uids), the whole tree is
 * given to the new uid first. Without an owner (the runtime is not root) modes are set but nobody changes.
 * Links the sandbox planted where the runtime's own entries belong are removed first; returns their names.
 */
export async function prepareThreadDirs(loc: WorkspaceLocation, logger: Logger): Promise<string[]> {
  const owner = loc.owner;
  const privateBase = path.dirname(loc.privateTmp.tmp);
  // Independent steps run together: this is on the path of every call, and each fs call is a thread-pool round trip.
  const parents = [path.dirname(loc.dir), privateBase, path.dirname(loc.mounts.pipCache), path.dirname(loc.mounts.venv)];
  await Promise.all(parents.map((dir) => mkdir(dir, { recursive: true, mode: TRAVERSE })));
  await Promise.all([
    // Root's, so the thread cannot swap its tmp dirs for links (their parent is not the thread's to rename in).
    ensureDir(privateBase, TRAVERSE, owner ? { uid: 0, gid: 0 } : null),
    owner ? adoptIfMoved(loc, owner, logger) : undefined,
  ]);
  await Promise.all([
    ...[loc.dir, ...Object.values(loc.privateTmp)].map((dir) => ensureDir(dir, PRIVATE, owner)),
    ensureDir(loc.mounts.pipCache, TENANT_SHARED, owner ? { uid: 0, gid: owner.gid } : null),
  ]);
  const { removed, missing } = await removePlantedEntries(loc.dir);
  // The sandbox may plant a link again meanwhile: safe-open creates the directory, never following one.
  if (missing.includes(".threadbox")) await withWorkspaceDir(loc.dir, [".threadbox"], { create: true, owner }, async () => undefined);
  return removed;
}

/** A directory the runtime owns, created when missing, with its mode and owner (never a link: lstat, lchown). */
async function ensureDir(dir: string, mode: number, owner: { uid: number; gid: number } | null): Promise<void> {
  let st = await lstat(dir).catch((err: unknown) => {
    if (fsCode(err) === "ENOENT") return null;
    throw err;
  });
  if (st === null) {
    await mkdir(dir, { recursive: true, mode });
    st = await lstat(dir);
  }
  if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`${dir} is not a directory`);
  const chowned = owner !== null && (st.uid !== owner.uid || st.gid !== owner.gid);
  if (chowned) await lchown(dir, owner.uid, owner.gid);
  // chown may clear the setgid bit: the mode goes on after it.
  if (chowned || (st.mode & 0o7777) !== mode) await chmod(dir, mode);
}

async function adoptIfMoved(loc: WorkspaceLocation, owner: { uid: number; gid: number }, logger: Logger): Promise<void> {
  const st = await lstat(loc.dir).catch(() => null);
  if (!st?.isDirectory() || (st.uid === owner.uid && st.gid === owner.gid)) return;
  logger.info("giving the workspace to the thread's uid", { thread_id: loc.thread, tenant: loc.tenant, from: st.uid, to: owner.uid });
  await chownTree(loc.dir, owner);
  for (const dir of [...Object.values(loc.privateTmp), loc.mounts.venv]) {
    if ((await lstat(dir).catch(() => null))?.isDirectory()) await chownTree(dir, owner);
  }
}
