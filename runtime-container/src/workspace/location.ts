import path from "node:path";
import { type NetworkMode, TenantIdSchema, ThreadIdSchema } from "../../../shared/src/index.ts";
import type { Owner } from "../files/safe-open.ts";
import type { Mounts } from "../sandbox/backend.ts";

/** Where one thread lives on this host. */
export interface WorkspaceLocation {
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
  /** What the worker asked for when it created the thread. */
  network: NetworkMode;
}

/** Who a thread is on this runtime (see sandbox/identities.ts and sandbox/thread-settings.ts). */
export interface ThreadAccess {
  ownerOf(tenant: string, thread: string): Owner;
  network(key: string): NetworkMode;
}

const HOST_ACCESS: ThreadAccess = { ownerOf: () => null, network: () => "default" };

/**
 * The worker names the workspace from (tenant, thread), so equal thread ids of two tenants never share one.
 * Both ids are validated as single safe path segments before they touch the filesystem.
 */
export function locateWorkspace(
  roots: { workspaces: string; state: string },
  tenant: string,
  thread: string,
  access: ThreadAccess = HOST_ACCESS,
): WorkspaceLocation {
  const t = TenantIdSchema.parse(tenant);
  const id = ThreadIdSchema.parse(thread);
  const tmpBase = path.join(roots.state, "tmp", t, id);
  const key = `${t}/${id}`;
  return {
    key,
    owner: access.ownerOf(t, id),
    network: access.network(key),
    tenant: t,
    thread: id,
    dir: path.join(roots.workspaces, t, id),
    privateTmp: { tmp: path.join(tmpBase, "tmp"), varTmp: path.join(tmpBase, "var-tmp"), shm: path.join(tmpBase, "shm") },
    mounts: { venv: path.join(roots.state, "venvs", t, id), pipCache: path.join(roots.state, "pip-cache", t) },
  };
}
