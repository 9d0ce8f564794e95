import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { ThreadMount } from "../../../shared/src/index.ts";
import type { ReadOnlyBind } from "../sandbox/backend.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import type { MountStore } from "./mount-store.ts";

/**
 * The read-only binds that show a thread its mounts. Each mount prefix (`/.skills`) is first covered by a view: a
 * root-owned directory in STATE_DIR holding one empty directory per mount point. Without it `/.skills` would not
 * exist in the guest (proot lists nothing there and stat fails; bwrap would make its mount point inside the
 * thread-writable workspace), and under proot the thread could create names beside its mounts.
 * The views are local, root's, and made by path only under STATE_DIR, which no sandbox sees.
 */
const viewOf = (stateDir: string, loc: WorkspaceLocation) => path.join(stateDir, "mount-views", loc.tenant, loc.thread);

/** The thread is deleted: its view goes (a root-only path: nothing in it is the thread's). */
export async function removeMountView(stateDir: string, loc: WorkspaceLocation): Promise<void> {
  await rm(viewOf(stateDir, loc), { recursive: true, force: true });
}

export async function threadMountBinds(store: MountStore, stateDir: string, loc: WorkspaceLocation, mounts: readonly ThreadMount[]): Promise<ReadOnlyBind[]> {
  if (mounts.length === 0) return [];
  const viewRoot = viewOf(stateDir, loc);
  const prefixes = [...new Set(mounts.map((m) => path.posix.dirname(m.path)))];
  const binds: ReadOnlyBind[] = [];
  for (const prefix of prefixes) {
    const view = path.join(viewRoot, prefix.slice(1));
    for (const m of mounts.filter((x) => path.posix.dirname(x.path) === prefix)) {
      await mkdir(path.join(view, path.posix.basename(m.path)), { recursive: true, mode: 0o755 });
    }
    binds.push({ source: view, guest: prefix });
  }
  for (const m of mounts) binds.push({ source: await store.hostDir(loc.tenant, m.name), guest: m.path });
  return binds;
}
