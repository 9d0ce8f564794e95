import type { RunLimitsRequest } from "../../../shared/src/index.ts";
import type { RuntimeConfig } from "../config.ts";
import type { DiskQuota } from "../quota/disk-quota.ts";
import { admitRun } from "../quota/run-quota.ts";
import type { Mounts } from "../sandbox/backend.ts";
import type { PreparedCommand, Sandbox } from "../sandbox/create.ts";
import { type RunLimits, resolveLimits } from "../sandbox/limits.ts";
import { type GuestPaths, sandboxEnv } from "../sandbox/environment.ts";
import { launcherArgv } from "../sandbox/launcher.ts";
import { PROXY_ENV } from "../sandbox/network/proxy-rules.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { MountStore, mountsRoot } from "../mounts/mount-store.ts";
import { threadMountBinds } from "../mounts/thread-binds.ts";
import type { StreamName } from "./output.ts";
import { type RunOutcome, type RunRequest, runProcess } from "./run.ts";

export interface GuestRun {
  /** The guest command (argv, no shell). */
  argv: string[];
  /** Guest working directory; the workspace root by default. */
  cwd?: string;
  /** Variables added to the sandbox's allowlisted environment. */
  env?: Record<string, string>;
  stdin?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  onOutput?: (stream: StreamName, text: string) => void;
  /** Other host dirs at the guest mount points (a venv being built aside). */
  mounts?: Partial<Mounts>;
  /** The call's resource limits (checked against the runtime's maxima by the route). */
  limits?: RunLimitsRequest;
}

export type GuestRunner = (loc: WorkspaceLocation, run: GuestRun) => Promise<RunOutcome>;

/** A prepared command: spawn it with spawnTree, which calls `release` when the tree ends (the uid sweep). */
export type GuestCommand = PreparedCommand & { env: Record<string, string> };

/**
 * The host command line and environment for a guest command: every layer applied (the thread's uid, its network
 * mode, the limits: the runtime's defaults unless given), the environment allowlisted. Runs and contexts both start
 * here, so both get every layer.
 */
export async function prepareGuest(
  config: RuntimeConfig,
  sandbox: Sandbox,
  loc: WorkspaceLocation,
  run: Pick<GuestRun, "argv" | "cwd" | "env" | "mounts"> & { limits?: RunLimits },
): Promise<GuestCommand> {
  const mounts = { ...loc.mounts, ...run.mounts };
  const paths = guestPaths(sandbox, loc, mounts);
  const cwd = run.cwd ?? paths.root;
  const network = sandbox.settings.network(loc.key);
  const identity = {
    owner: loc.owner,
    network,
    egress: sandbox.settings.egress(loc.key),
    limits: run.limits ?? resolveLimits(config),
    thread: { tenant: loc.tenant, thread: loc.thread },
  };
  // Read from storage on every start: a mount the tenant changed is what the next run sees.
  const readOnly = await threadMountBinds(new MountStore(mountsRoot(config.WORKSPACES_ROOT)), config.STATE_DIR, loc, sandbox.settings.mounts(loc.key));
  const spawn = await sandbox.prepare({ workspace: loc.dir, privateTmp: loc.privateTmp, mounts, cwd, argv: run.argv, readOnly }, identity);
  // Under a policy every client that reads the proxy variables goes through the thread's egress proxy (no DNS, no other way out).
  const installer = network === "proxy" ? { ...installerEnv(config), ...PROXY_ENV } : installerEnv(config);
  return { ...spawn, env: sandboxEnv(paths, cwd, run.env, installer) };
}

/**
 * Runs a command inside a thread's sandbox with every layer applied (backend, uid, pid namespace, seccomp), and,
 * given the disk quota, only when the thread is under it, with RLIMIT_FSIZE at most what is left, watched.
 */
export function createGuestRunner(config: RuntimeConfig, sandbox: Sandbox, quota?: DiskQuota): GuestRunner {
  return async (loc, run) => {
    const resolved = resolveLimits(config, run.limits, run.timeoutMs);
    const quotaRun = quota ? await admitRun(quota, loc, resolved) : null;
    const limits = quotaRun?.limits ?? resolved;
    const spawn = await prepareGuest(config, sandbox, loc, { ...run, argv: launcherArgv(run.argv), limits }).catch((err: unknown) => {
      quotaRun?.end();
      throw err;
    });
    try {
      return await runProcess({
        ...spawn,
        stdin: run.stdin,
        timeoutMs: run.timeoutMs,
        killGraceMs: config.KILL_GRACE_MS,
        maxOutputBytes: config.MAX_OUTPUT_BYTES,
        signal: run.signal,
        diskQuota: quotaRun?.signal,
        memory: memoryWatch(spawn, limits),
        onOutput: run.onOutput,
      });
    } finally {
      // The tree is dead (runProcess killed it); wait for the uid sweep so the call returns with nothing left.
      await spawn.release?.();
      await spawn.cleanup?.();
      quotaRun?.end();
    }
  };
}

/** The run's OOM kills, when its memory limit holds in a cgroup. */
function memoryWatch(spawn: GuestCommand, limits: RunLimits): RunRequest["memory"] {
  const events = spawn.cgroupEvents;
  if (!events) return undefined;
  return {
    kills: async () => (await events()).oomKills,
    line: `\nthreadbox: the run was stopped: its processes together went over its memory limit of ${limits.memoryMb} MiB (limits.memory_mb), and the kernel killed one of them\n`,
  };
}

/** Where the workspace, the venv and the package cache appear inside this thread's sandbox. */
export function guestPaths(sandbox: Sandbox, loc: WorkspaceLocation, mounts: Mounts = loc.mounts): GuestPaths {
  const pipCache = sandbox.backend.guestMount({ mounts }, "pipCache");
  return {
    root: sandbox.backend.guestRoot(loc.dir),
    venv: sandbox.backend.guestMount({ mounts }, "venv"),
    pipCache,
    bunCache: `${pipCache}/bun${loc.owner ? `-${loc.owner.uid}` : ""}`,
    tools: sandbox.backend.guestTools(),
  };
}

/** The package index settings of this runtime, as pip, uv, npm and bun read them. */
function installerEnv(config: RuntimeConfig): Record<string, string> {
  // The host's /etc/pip.conf and npm's global npmrc are visible in the sandbox; the runtime's own settings count.
  const env: Record<string, string> = { PIP_CONFIG_FILE: "/dev/null", npm_config_globalconfig: "/dev/null" };
  const hosts = [config.PIP_INDEX_URL, config.PIP_EXTRA_INDEX_URL].flatMap((u) => (u?.startsWith("http://") ? [new URL(u).hostname] : []));
  // pip caches downloads only from https or trusted hosts: a plain-http index (a local mirror) must be trusted.
  if (hosts.length) env.PIP_TRUSTED_HOST = hosts.join(" ");
  if (config.PIP_INDEX_URL) env.PIP_INDEX_URL = env.UV_INDEX_URL = config.PIP_INDEX_URL;
  if (config.PIP_EXTRA_INDEX_URL) env.PIP_EXTRA_INDEX_URL = env.UV_EXTRA_INDEX_URL = config.PIP_EXTRA_INDEX_URL;
  if (config.NPM_REGISTRY_URL) env.npm_config_registry = env.BUN_CONFIG_REGISTRY = config.NPM_REGISTRY_URL;
  return env;
}
