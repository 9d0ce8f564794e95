import { existsSync } from "node:fs";
import path from "node:path";
import type { RuntimeConfig } from "./config.ts";
import type { Owner } from "./files/safe-open.ts";
import { ContextManager } from "./contexts/manager.ts";
import { ProcessManager } from "./processes/manager.ts";
import { notebookCellRunner } from "./python/notebook-cell.ts";
import { ExecutionRegistry } from "./executions/registry.ts";
import { DisplayManager } from "./gui/displays.ts";
import type { ScreenshotDeps } from "./gui/screenshots.ts";
import type { Logger } from "./logger.ts";
import type { RunPythonDeps } from "./executions/run-python.ts";
import { CheckpointStore } from "./checkpoints/store.ts";
import { CacheUpkeep } from "./quota/cache-upkeep.ts";
import { DiskQuota } from "./quota/disk-quota.ts";
import { stdlibProber, systemInterpreters, systemPythonProber } from "./python/system-python.ts";
import { type GuestRunner, createGuestRunner } from "./runner/guest.ts";
import type { Sandbox } from "./sandbox/create.ts";
import type { StorageGate } from "./storage/gate.ts";
import type { WorkspaceLocation } from "./thread-location.ts";
import { WorkspaceManager } from "./workspace/manager.ts";
import { MountStore, mountsRoot } from "./mounts/mount-store.ts";
import { VenvIdleReaper } from "./workspace/venv-idle.ts";

/** Everything the routes use, built once at start-up and passed down by construction. */
export interface Services {
  config: RuntimeConfig;
  logger: Logger;
  sandbox: Sandbox;
  /** The workspace storage (local directory or bucket mount) and its health. */
  storage: StorageGate;
  run: GuestRunner;
  /** Each thread's disk quota: admission, the watchdog, usage reports. */
  quota: DiskQuota;
  /** Keeps each tenant's package cache under TENANT_CACHE_MB. */
  caches: CacheUpkeep;
  /** Removes venvs of threads idle past VENV_IDLE_TTL_S (null: off). */
  venvReaper: VenvIdleReaper | null;
  workspaces: WorkspaceManager;
  /** Tenants' read-only mounts, next to the workspaces on storage. */
  mounts: MountStore;
  /** Each thread's checkpoints, next to its workspace (checkpoints/). */
  checkpoints: CheckpointStore;
  executions: ExecutionRegistry;
  contexts: ContextManager;
  /** Background processes of every thread (issue 19). */
  processes: ProcessManager;
  displays: DisplayManager;
  /** What `capture_screenshot` needs: the thread's display, where its /tmp appears, who owns files there. */
  screenshots: ScreenshotDeps;
  python: RunPythonDeps;
  /** The system interpreters `python_cmd` may name. */
  interpreters: string[];
  startedAt: number;
}

export function createServices(config: RuntimeConfig, logger: Logger, sandbox: Sandbox, storage: StorageGate): Services {
  const quota = new DiskQuota({ bytes: config.THREAD_DISK_MB * 2 ** 20, inodes: config.THREAD_INODES }, logger, (fn) => storage.guard(fn));
  const run = createGuestRunner(config, sandbox, quota);
  const owner = (loc: WorkspaceLocation): Owner => loc.owner;
  const installer = pythonInstaller(config);
  const interpreters = systemInterpreters();
  logger.info("python installer", { installer });
  const workspaces = new WorkspaceManager(config, sandbox, run, logger, installer, interpreters, storage);
  const displays = new DisplayManager(
    {
      screen: config.DISPLAY_SCREEN,
      idleS: config.DISPLAY_IDLE_S,
      stateDir: config.STATE_DIR,
      owner,
      host: (loc) => sandbox.hostProcess(loc.owner, sandbox.settings.network(loc.key), sandbox.settings.egress(loc.key)),
    },
    logger,
  );
  const contexts = new ContextManager(config, sandbox, workspaces, logger, quota);
  const processes = new ProcessManager(config, sandbox, workspaces, logger, quota);
  const executions = new ExecutionRegistry(logger);
  const upkeepMs = config.UPKEEP_INTERVAL_S * 1000;
  const caches = new CacheUpkeep({
    root: path.join(config.STATE_DIR, "pip-cache"),
    capBytes: config.TENANT_CACHE_MB * 2 ** 20,
    intervalMs: upkeepMs,
    busy: (tenant) => quota.tenantBusy(tenant),
    logger,
  });
  caches.start();
  const ttl = config.VENV_IDLE_TTL_S;
  const venvReaper = ttl
    ? new VenvIdleReaper(workspaces, {
        root: path.join(config.STATE_DIR, "venvs"),
        ttlMs: ttl * 1000,
        intervalMs: Math.min(upkeepMs, ttl * 1000),
        busy: (key) => quota.threadBusy(key) || displays.holds(key),
        logger,
      })
    : null;
  venvReaper?.start();
  // Whatever runs on a lost mount keeps resolving paths under it, and would write into the next mount or the bare
  // directory beneath: running executions end with STORAGE_UNAVAILABLE (never a success they did not have), and
  // interpreters are stopped (their next cell starts afresh and says so).
  storage.whenLost((error) => {
    executions.failAll(error);
    contexts.stopAll();
    processes.stopAll("storage_lost");
  });
  return {
    config,
    logger,
    sandbox,
    storage,
    run,
    quota,
    caches,
    venvReaper,
    workspaces,
    mounts: new MountStore(mountsRoot(config.WORKSPACES_ROOT)),
    checkpoints: new CheckpointStore({
      count: config.CHECKPOINT_MAX_COUNT,
      bytes: config.CHECKPOINT_MAX_MB * 2 ** 20,
      files: config.CHECKPOINT_MAX_FILES,
    }, config.STORAGE_MODE === "local"),
    contexts,
    processes,
    executions,
    displays,
    screenshots: {
      displays,
      screen: config.DISPLAY_SCREEN,
      guestTmp: (loc) => (sandbox.backend.guestRoot(loc.dir) === "/" ? "/tmp" : loc.privateTmp.tmp),
      owner,
      ready: async (loc) => void (await workspaces.ensure(loc)),
    },
    python: {
      run,
      installer,
      defaultUseVenv: config.PYTHON_MODE === "venv",
      systemPythonVersion: systemPythonProber(run),
      stdlibModules: stdlibProber(run, config.PYTHON_BIN),
      importPolicy: (loc) => sandbox.settings.importPolicy(loc.key),
      quota,
      notebookCell: notebookCellRunner(contexts),
    },
    interpreters,
    startedAt: Date.now(),
  };
}

/** uv when the image ships it where sandboxes see it (fast), pip otherwise. */
function pythonInstaller(config: RuntimeConfig): "uv" | "pip" {
  if (config.PYTHON_INSTALLER !== "auto") return config.PYTHON_INSTALLER;
  return ["/usr/local/bin/uv", "/usr/bin/uv"].some((p) => existsSync(p)) ? "uv" : "pip";
}
