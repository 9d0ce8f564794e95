import path from "node:path";
import { type ThreadRef, threadKey } from "../../shared/src/index.ts";
import type { Owner } from "./files/safe-open.ts";
import type { Mounts } from "./sandbox/backend.ts";

/**
 * Where one thread lives on this host: fixed for the thread's life on this runtime (its settings, such as its network
 * mode, are kept apart in sandbox/thread-settings.ts and read when a sandbox starts).
 */
export interface WorkspaceLocation {
  ref: ThreadRef;
  /** `tenant/thread`: the thread's key in maps, logs and settings. */
  key: string;
  tenant: string;
  thread: string;
  /** The workspace itself: `<WORKSPACES_ROOT>/<tenant>/<thread>` (on the R2 mount in production). */
  dir: string;
  /** Local, never on the bucket: the thread's private /tmp, /var/tmp and /dev/shm. */
  privateTmp: { tmp: string; varTmp: string; shm: string };
  /** Local, never on the bucket: the thread's venv, and its tenant's package cache (shared by its threads only). */
  mounts: Mounts;
  /** The thread's uid and its tenant's gid: its programs run as them and own its files (null: not root). */
  owner: Owner;
}

/**
 * The worker names the workspace from the ThreadRef (validated ids: single safe path segments), so equal thread ids
 * of two tenants never share one.
 */
export function locateWorkspace(
  roots: { workspaces: string; state: string },
  ref: ThreadRef,
  ownerOf: (tenant: string, thread: string) => Owner = () => null,
): WorkspaceLocation {
  const { tenant, thread } = ref;
  const tmpBase = path.join(roots.state, "tmp", tenant, thread);
  return {
    ref,
    key: threadKey(ref),
    owner: ownerOf(tenant, thread),
    tenant,
    thread,
    dir: path.join(roots.workspaces, tenant, thread),
    privateTmp: { tmp: path.join(tmpBase, "tmp"), varTmp: path.join(tmpBase, "var-tmp"), shm: path.join(tmpBase, "shm") },
    mounts: { venv: path.join(roots.state, "venvs", tenant, thread), pipCache: path.join(roots.state, "pip-cache", tenant) },
  };
}
