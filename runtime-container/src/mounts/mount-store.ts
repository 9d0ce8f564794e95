import { lstat, mkdir } from "node:fs/promises";
import path from "node:path";
import { AppError, ErrorCode, type FileEntry, type MountSummary } from "../../../shared/src/index.ts";
import { collectEntries, readNames } from "../files/dir-tree.ts";
import { deleteWorkspacePath, listWorkspaceDir, writeWorkspaceFile } from "../files/file-ops.ts";
import { lstatAt, withWorkspaceDir } from "../files/safe-open.ts";

/** Where the mounts live: `mounts` beside the workspaces root (`<bucket>/mounts` next to `<bucket>/threads`). */
export const mountsRoot = (workspacesRoot: string): string => path.join(path.dirname(workspacesRoot), "mounts");

/** A mount's listing is bounded like a workspace's. */
const MAX_ENTRIES = 10_000;
const MAX_MOUNTS = 1_000;

/**
 * Tenants' read-only mounts on the workspace storage: `<root>/<tenant>/<name>/...`, next to the workspaces (on the
 * bucket in production, so every runtime sees the same). Only the runtime writes here, from API uploads, as root
 * (files 0644, directories 0755), through the link-safe file ops: no sandbox uid can write a mount, and a link found
 * in one (planted on the bucket by other means) is never followed by the host.
 * Tenant and mount names are validated single segments (ids.ts, mounts.ts) before they reach here.
 */
export class MountStore {
  constructor(readonly root: string) {}

  /** The host directory bound into sandboxes (made empty when missing: a deleted mount is seen empty, not an error). */
  async hostDir(tenant: string, name: string): Promise<string> {
    const dir = path.join(this.root, tenant, name);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    // Bound as it is: it must be a real directory (only the runtime writes here, but a bucket can hold anything).
    if (!(await lstat(dir)).isDirectory()) throw new AppError(ErrorCode.INTERNAL_ERROR, `mount ${name} is not a directory on storage`);
    return dir;
  }

  async exists(tenant: string, name: string): Promise<boolean> {
    const st = await lstat(path.join(this.root, tenant, name)).catch(() => null);
    return st?.isDirectory() === true;
  }

  /** Fails with MOUNT_NOT_FOUND naming the first of `names` the tenant has not defined. */
  async requireAll(tenant: string, names: readonly string[]): Promise<void> {
    for (const name of names) {
      if (!(await this.exists(tenant, name))) {
        throw new AppError(ErrorCode.MOUNT_NOT_FOUND, `no mount named ${name}: upload its files with PUT /v1/mounts/${name}/files/<path> first`, { name });
      }
    }
  }

  async put(tenant: string, name: string, rel: string, data: Uint8Array): Promise<{ path: string; size: number }> {
    await mkdir(path.join(this.root, tenant), { recursive: true, mode: 0o755 });
    const written = await writeWorkspaceFile(this.root, `${tenant}/${name}/${rel}`, data, { mode: 0o644 });
    return { path: rel, size: written.size };
  }

  async files(tenant: string, name: string): Promise<FileEntry[]> {
    await this.requireAll(tenant, [name]);
    const list = await listWorkspaceDir(this.root, `${tenant}/${name}`, { recursive: true, maxEntries: MAX_ENTRIES });
    const prefix = `${tenant}/${name}/`;
    return list.entries.map((e) => ({ ...e, path: e.path.startsWith(prefix) ? e.path.slice(prefix.length) : e.path }));
  }

  async list(tenant: string): Promise<MountSummary[]> {
    if (!(await lstat(path.join(this.root, tenant)).catch(() => null))?.isDirectory()) return [];
    return withWorkspaceDir(this.root, [tenant], {}, async (dir) => {
      const out: MountSummary[] = [];
      for (const name of (await readNames(dir, MAX_MOUNTS)).sort()) {
        if (!(await lstatAt(dir, name))?.isDirectory()) continue;
        const entries: FileEntry[] = [];
        await withWorkspaceDir(this.root, [tenant, name], {}, (d) => collectEntries(d, entries, { recursive: true, maxEntries: MAX_ENTRIES }));
        const files = entries.filter((e) => e.type === "file");
        out.push({ name, files: files.length, bytes: files.reduce((n, e) => n + e.size, 0) });
      }
      return out;
    });
  }

  /** One file or directory of a mount (`rel`), or the whole mount (`rel` ""). */
  async remove(tenant: string, name: string, rel: string): Promise<void> {
    await this.requireAll(tenant, [name]);
    await deleteWorkspacePath(this.root, rel ? `${tenant}/${name}/${rel}` : `${tenant}/${name}`, { recursive: true });
  }
}
