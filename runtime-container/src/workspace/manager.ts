import { chown, lstat, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { WorkspaceInfo } from "../../../shared/src/index.ts";
import type { RuntimeConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import { type GuestRunner, guestPaths } from "../runner/guest.ts";
import type { Sandbox } from "../sandbox/create.ts";
import { KeyedLock } from "./lock.ts";
import { MARKER_PATH, bashrc, packageJson, pyprojectToml } from "./layout.ts";
import { type WorkspaceLocation, locateWorkspace } from "./location.ts";
import { type Marker, readMarker, verifyPython, writeMarker } from "./verify.ts";
import { type VenvDeps, buildVenv, venvLooksUsable } from "./venv.ts";
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
 * Creates and configures workspaces idempotently under a per-thread lock (seed 000). A marker alone never counts:
 * the venv's interpreter must exist, and must have run in this process, or the workspace is reconfigured.
 * A failed setup writes no marker and answers WORKSPACE_SETUP_FAILED with the underlying stderr.
 */
export class WorkspaceManager {
  private readonly lock = new KeyedLock();
  /** Workspaces whose interpreter ran in this process, with the marker mtime at that time. */
  private readonly verified = new Map<string, { markerMtimeMs: number; marker: Marker }>();

  constructor(
    private readonly config: RuntimeConfig,
    private readonly sandbox: Sandbox,
    private readonly run: GuestRunner,
    private readonly logger: Logger,
    private readonly installer: "uv" | "pip",
    private readonly interpreters: string[],
  ) {}

  locate(tenant: string, thread: string): WorkspaceLocation {
    return locateWorkspace({ workspaces: this.config.WORKSPACES_ROOT, state: this.config.STATE_DIR }, tenant, thread);
  }

  guestRoot(loc: WorkspaceLocation): string {
    return this.sandbox.backend.guestRoot(loc.dir);
  }

  async exists(loc: WorkspaceLocation): Promise<boolean> {
    return (await lstat(loc.dir).catch(() => null))?.isDirectory() ?? false;
  }

  /** The directories alone (for file uploads): no interpreter needed. */
  async ensureDirs(loc: WorkspaceLocation): Promise<void> {
    await this.lock.run(loc.key, () => this.createDirs(loc));
  }

  async ensure(loc: WorkspaceLocation): Promise<ReadyWorkspace> {
    return this.lock.run(loc.key, async () => {
      const { root: guestRoot, venv } = guestPaths(this.sandbox, loc);
      await this.createDirs(loc);
      const marker = (await this.currentMarker(loc, venv)) ?? (await this.configure(loc, venv));
      return { loc, guestRoot, venv, marker };
    });
  }

  async info(loc: WorkspaceLocation): Promise<Omit<WorkspaceInfo, "contexts">> {
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

  async remove(loc: WorkspaceLocation): Promise<void> {
    await this.lock.run(loc.key, async () => {
      this.verified.delete(loc.key);
      await rm(loc.dir, { recursive: true, force: true });
      await rm(path.dirname(loc.privateTmp.tmp), { recursive: true, force: true });
      await rm(loc.mounts.venv, { recursive: true, force: true });
    });
  }

  /** The marker, if it can be trusted: present, venv interpreter present, and verified in this process. */
  private async currentMarker(loc: WorkspaceLocation, venv: string): Promise<Marker | null> {
    const st = await lstat(path.join(loc.dir, MARKER_PATH)).catch(() => null);
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
    await rm(path.join(loc.dir, MARKER_PATH), { force: true });
    await this.writeIfMissing(loc, ".bashrc", bashrc(this.guestRoot(loc), venv));
    await this.writeIfMissing(loc, "pyproject.toml", pyprojectToml());
    await this.writeIfMissing(loc, "package.json", packageJson());
    // Workspaces from before the venv moved to local disk: the mount hides that copy, so it only costs space.
    if ((await lstat(path.join(loc.dir, ".venv")).catch(() => null))?.isDirectory()) {
      await rm(path.join(loc.dir, ".venv"), { recursive: true, force: true });
    }
    const check = await buildVenv(this.venvDeps(log), loc);
    const marker: Marker = {
      python_version: check.version,
      virtual_env: check.prefix,
      base_python: this.config.PYTHON_BIN,
      configured_at: new Date().toISOString(),
    };
    const mtimeMs = await writeMarker(loc.dir, marker, this.owner());
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
      owner: this.owner(),
      log: (level, msg, fields) => log[level](msg, fields),
    };
  }

  private owner(): { uid: number; gid: number } | null {
    const { uid, gid } = this.sandbox.layers;
    return uid === null ? null : { uid, gid: gid ?? uid };
  }

  /** Parents are traverse-only (0711) so the sandbox uid reaches its own workspace but cannot list others. */
  private async createDirs(loc: WorkspaceLocation): Promise<void> {
    const owner = this.owner();
    for (const parent of [path.dirname(loc.dir), path.dirname(path.dirname(loc.privateTmp.tmp))]) {
      await mkdir(parent, { recursive: true, mode: 0o711 });
    }
    const privateBase = path.dirname(loc.privateTmp.tmp);
    await mkdir(path.dirname(loc.mounts.pipCache), { recursive: true, mode: 0o711 });
    const dirs = [loc.dir, path.join(loc.dir, ".threadbox"), privateBase, ...Object.values(loc.privateTmp), loc.mounts.pipCache];
    for (const dir of dirs) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      if (owner) await chown(dir, owner.uid, owner.gid);
    }
  }

  private async writeIfMissing(loc: WorkspaceLocation, name: string, content: string): Promise<void> {
    const file = path.join(loc.dir, name);
    if (await lstat(file).catch(() => null)) return;
    await writeFile(file, content, { flag: "wx" });
    const owner = this.owner();
    if (owner) await chown(file, owner.uid, owner.gid);
  }
}
