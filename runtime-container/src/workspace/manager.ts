import { lstat } from "node:fs/promises";
import path from "node:path";
import type { ThreadRef, WorkspaceInfo } from "../../../shared/src/index.ts";
import type { RuntimeConfig } from "../config.ts";
import { createWorkspaceFile } from "../files/file-ops.ts";
import { removeHostEntry, removeTree } from "../files/remove-tree.ts";
import { fsCode, lstatAt, withWorkspaceDir } from "../files/safe-open.ts";
import type { Logger } from "../logger.ts";
import { type GuestRunner, guestPaths } from "../runner/guest.ts";
import { GUEST_MOUNTS } from "../sandbox/backend.ts";
import type { Sandbox } from "../sandbox/create.ts";
import type { StorageGate } from "../storage/gate.ts";
import { KeyedLock } from "./lock.ts";
import { bashrc, packageJson, pyprojectToml } from "./layout.ts";
import { type WorkspaceLocation, locateWorkspace } from "../thread-location.ts";
import { prepareThreadDirs } from "./ownership.ts";
import { type Marker, readMarker, removeMarker, statMarker, verifyPython, writeMarker } from "./verify.ts";
import { type VenvDeps, buildVenv, removeVenvLeftovers, venvLooksUsable } from "./venv.ts";
import { VenvTemplate } from "./venv-template.ts";
import { readManifest } from "../python/manifest.ts";

/** A configured, verified workspace. */
export interface ReadyWorkspace {
  loc: WorkspaceLocation;
  guestRoot: string;
  /** Guest path of the thread's venv. */
  venv: string;
  marker: Marker;
}

/**
 * Creates and configures workspaces idempotently under a per-thread lock (venv verification). A marker alone never counts:
 * the venv's interpreter must exist, and must have run in this process, or the workspace is reconfigured.
 * A failed setup writes no marker and answers WORKSPACE_SETUP_FAILED with the underlying stderr.
 */
export class WorkspaceManager {
  private readonly lock = new KeyedLock();
  /** Workspaces whose interpreter ran in this process, with the marker mtime at that time. */
  private readonly verified = new Map<string, { markerMtimeMs: number; marker: Marker }>();
  /** When each thread last had its workspace ensured (ms since the epoch): the idle venv reaper's clock. */
  private readonly used = new Map<string, number>();
  /** Threads whose venv the idle reaper removed and that have not been rebuilt yet. */
  private readonly dropped = new Set<string>();

  constructor(
    private readonly config: RuntimeConfig,
    private readonly sandbox: Sandbox,
    private readonly run: GuestRunner,
    private readonly logger: Logger,
    private readonly installer: "uv" | "pip",
    private readonly interpreters: string[],
    /** On the bucket mount every operation goes through the gate: a lost mount answers STORAGE_UNAVAILABLE. */
    private readonly storage: StorageGate,
  ) {
    this.venvTemplate = new VenvTemplate(path.join(config.STATE_DIR, "venv-template"), config.PYTHON_BIN, GUEST_MOUNTS.venv);
  }

  /** New threads' venvs are copies of it (see venv-template.ts). */
  private readonly venvTemplate: VenvTemplate;

  locate(ref: ThreadRef): WorkspaceLocation {
    return locateWorkspace({ workspaces: this.config.WORKSPACES_ROOT, state: this.config.STATE_DIR }, ref, this.sandbox.ownerOf);
  }

  guestRoot(loc: WorkspaceLocation): string {
    return this.sandbox.backend.guestRoot(loc.dir);
  }

  async exists(loc: WorkspaceLocation): Promise<boolean> {
    return this.storage.guard(async () => {
      // Only "not there" means no workspace: a dead mount (ENOTCONN) must not make every thread look deleted.
      const st = await lstat(loc.dir).catch((err: unknown) => {
        if (fsCode(err) === "ENOENT" || fsCode(err) === "ENOTDIR") return null;
        throw err;
      });
      return st?.isDirectory() ?? false;
    });
  }

  /** The directories alone (for file uploads): no interpreter needed. */
  async ensureDirs(loc: WorkspaceLocation): Promise<void> {
    await this.storage.guard(() => this.lock.run(loc.key, () => this.createDirs(loc)));
  }

  async ensure(loc: WorkspaceLocation): Promise<ReadyWorkspace> {
    return this.storage.guard(() => this.ensureLocked(loc));
  }

  private ensureLocked(loc: WorkspaceLocation): Promise<ReadyWorkspace> {
    this.used.set(loc.key, Date.now());
    return this.lock.run(loc.key, async () => {
      const { root: guestRoot, venv } = guestPaths(this.sandbox, loc);
      // The sandbox's links where our files belong were removed: write those files again (the marker goes through
      // the checks below, and a missing one means a full set-up).
      if ((await this.createDirs(loc)).length > 0) await this.writeLayout(loc, venv);
      const marker = (await this.currentMarker(loc, venv)) ?? (await this.configure(loc, venv));
      this.dropped.delete(loc.key);
      // Set again at the end: a long rebuild must not count as idle time.
      this.used.set(loc.key, Date.now());
      return { loc, guestRoot, venv, marker };
    });
  }

  /** When the thread's workspace was last ensured in this process (undefined: not since start-up). */
  lastUsed(key: string): number | undefined {
    return this.used.get(key);
  }

  /**
   * The packages the next ensure reinstalls because the idle reaper removed the venv (what its `install` events
   * name), or null when the venv was not removed that way.
   */
  async pendingRebuild(loc: WorkspaceLocation): Promise<string[] | null> {
    if (!this.dropped.has(loc.key)) return null;
    const manifest = await readManifest(loc.dir).catch(() => null);
    return manifest ? (manifest.resolved.length > 0 ? manifest.resolved : manifest.requested) : [];
  }

  /**
   * Removes the thread's venv (idle: see venv-idle.ts) when `idle()` still holds under the thread's lock, so no set-up
   * runs alongside. The venv is the sandbox's tree: removed from root's own parent directory on held fds.
   */
  async dropVenv(loc: WorkspaceLocation, idle: () => boolean): Promise<boolean> {
    return this.lock.run(loc.key, async () => {
      if (!idle()) return false;
      this.verified.delete(loc.key);
      this.dropped.add(loc.key);
      await removeHostEntry(path.dirname(loc.mounts.venv), path.basename(loc.mounts.venv));
      await removeVenvLeftovers(loc);
      return true;
    });
  }

  async info(loc: WorkspaceLocation): Promise<Omit<WorkspaceInfo, "contexts">> {
    return this.storage.guard(() => this.readInfo(loc));
  }

  private async readInfo(loc: WorkspaceLocation): Promise<Omit<WorkspaceInfo, "contexts">> {
    const marker = await readMarker(loc.dir);
    const venvOk = await venvLooksUsable(loc);
    return {
      configured: marker !== null && venvOk,
      python_version: marker?.python_version ?? null,
      virtual_env: marker?.virtual_env ?? null,
      packages: (await readManifest(loc.dir)).resolved,
      interpreters: this.interpreters,
      configured_at: marker?.configured_at ?? null,
    };
  }

  /**
   * Removes the thread's workspace, private tmp dirs and venv. The caller first stops everything of the thread (see
   * executions/stop-thread.ts), but the trees are still the sandbox's: each is removed from its parent, a directory
   * only root can change, through held directory fds, so a directory swapped for a link is never walked through.
   */
  async remove(loc: WorkspaceLocation): Promise<void> {
    await this.storage.guard(() => this.removeLocked(loc));
  }

  private async removeLocked(loc: WorkspaceLocation): Promise<void> {
    await this.lock.run(loc.key, async () => {
      this.verified.delete(loc.key);
      this.used.delete(loc.key);
      this.dropped.delete(loc.key);
      for (const dir of [loc.dir, path.dirname(loc.privateTmp.tmp), loc.mounts.venv]) {
        await removeHostEntry(path.dirname(dir), path.basename(dir));
      }
      await removeVenvLeftovers(loc);
    });
  }

  /** The marker, if it can be trusted: present, venv interpreter present, and verified in this process. */
  private async currentMarker(loc: WorkspaceLocation, venv: string): Promise<Marker | null> {
    const st = await statMarker(loc.dir);
    if (!st) return null;
    if (!(await venvLooksUsable(loc))) {
      this.logger.warn("marker exists but the venv is missing or was interrupted: rebuilding", { thread_id: loc.thread, tenant: loc.tenant });
      return null;
    }
    const cached = this.verified.get(loc.key);
    if (cached && cached.markerMtimeMs === st.mtimeMs) return cached.marker;
    const marker = await readMarker(loc.dir);
    if (!marker) return null;
    const check = await verifyPython(this.run, loc, venv);
    if (!check.ok) {
      this.logger.warn("workspace failed verification: reconfiguring", { thread_id: loc.thread, detail: check.error });
      return null;
    }
    this.verified.set(loc.key, { markerMtimeMs: st.mtimeMs, marker });
    return marker;
  }

  private async configure(loc: WorkspaceLocation, venv: string): Promise<ReadyWorkspace["marker"]> {
    const log = this.logger.child({ thread_id: loc.thread, tenant: loc.tenant });
    log.info("configuring workspace");
    await removeMarker(loc.dir);
    await this.writeLayout(loc, venv);
    // Workspaces from before the venv moved to local disk: the mount hides that copy, so it only costs space.
    // removeTree, not fs.rm: the sandbox could swap a directory below for a link mid-walk. Best effort: a process of
    // the thread may be writing there (it is also bwrap's mount point), and that must not fail the set-up.
    await withWorkspaceDir(loc.dir, [], {}, async (root) => {
      if ((await lstatAt(root, ".venv"))?.isDirectory()) await removeTree(root, ".venv");
    }).catch((err: unknown) => log.warn("the workspace's old .venv could not be removed", { error: String(err) }));
    const check = await buildVenv(this.venvDeps(log), loc);
    const marker: Marker = {
      python_version: check.version,
      virtual_env: check.prefix,
      base_python: this.config.PYTHON_BIN,
      configured_at: new Date().toISOString(),
    };
    const mtimeMs = await writeMarker(loc.dir, marker, loc.owner);
    this.verified.set(loc.key, { markerMtimeMs: mtimeMs, marker });
    log.info("workspace configured", { python_version: marker.python_version });
    return marker;
  }

  private venvDeps(log: Logger): VenvDeps {
    return {
      run: this.run,
      sandbox: this.sandbox,
      pythonBin: this.config.PYTHON_BIN,
      installer: this.installer,
      log: (level, msg, fields) => log[level](msg, fields),
      template: this.venvTemplate,
    };
  }

  /** Returns the names of links the sandbox had planted in place of the runtime's entries (now removed). */
  private async createDirs(loc: WorkspaceLocation): Promise<string[]> {
    const removed = await prepareThreadDirs(loc, this.logger);
    if (removed.length > 0) {
      this.verified.delete(loc.key);
      const fields = { thread_id: loc.thread, tenant: loc.tenant, removed };
      this.logger.warn("removed what the sandbox put in place of the workspace's own entries", fields);
    }
    return removed;
  }

  /** The files a workspace starts with, each written only when missing. */
  private async writeLayout(loc: WorkspaceLocation, venv: string): Promise<void> {
    await this.writeIfMissing(loc, ".bashrc", bashrc(this.guestRoot(loc), venv));
    await this.writeIfMissing(loc, "pyproject.toml", pyprojectToml());
    await this.writeIfMissing(loc, "package.json", packageJson());
  }

  /** Created in the workspace directory we hold (O_EXCL: whatever is there, a link included, is left alone). */
  private async writeIfMissing(loc: WorkspaceLocation, name: string, content: string): Promise<void> {
    await createWorkspaceFile(loc.dir, name, new TextEncoder().encode(content), { owner: loc.owner });
  }
}
