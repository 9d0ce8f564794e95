import type { RuntimeConfig } from "../config.ts";
import type { Mounts } from "../sandbox/backend.ts";
import type { Sandbox } from "../sandbox/create.ts";
import type { SpawnSpec } from "../sandbox/wrap.ts";
import { type GuestPaths, sandboxEnv } from "../sandbox/environment.ts";
import { launcherArgv } from "../sandbox/launcher.ts";
import type { WorkspaceLocation } from "../workspace/location.ts";
import type { StreamName } from "./output.ts";
import { type RunOutcome, runProcess } from "./run.ts";

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
}

export type GuestRunner = (loc: WorkspaceLocation, run: GuestRun) => Promise<RunOutcome>;

export type GuestCommand = SpawnSpec & { env: Record<string, string>; cleanup?: () => Promise<void> };

/** The host command line and environment for a guest command: every layer applied, the environment allowlisted. */
export async function prepareGuest(
  config: RuntimeConfig,
  sandbox: Sandbox,
  loc: WorkspaceLocation,
  run: Pick<GuestRun, "argv" | "cwd" | "env" | "mounts">,
): Promise<GuestCommand> {
  const mounts = { ...loc.mounts, ...run.mounts };
  const paths = guestPaths(sandbox, loc, mounts);
  const cwd = run.cwd ?? paths.root;
  const spawn = await sandbox.prepare({ workspace: loc.dir, privateTmp: loc.privateTmp, mounts, cwd, argv: run.argv });
  return { ...spawn, env: sandboxEnv(paths, cwd, run.env, installerEnv(config)) };
}

/** Runs a command inside a thread's sandbox with every layer applied (backend, uid, pid namespace, seccomp). */
export function createGuestRunner(config: RuntimeConfig, sandbox: Sandbox): GuestRunner {
  return async (loc, run) => {
    const spawn = await prepareGuest(config, sandbox, loc, { ...run, argv: launcherArgv(run.argv) });
    try {
      return await runProcess({
        ...spawn,
        stdin: run.stdin,
        timeoutMs: run.timeoutMs,
        killGraceMs: config.KILL_GRACE_MS,
        maxOutputBytes: config.MAX_OUTPUT_BYTES,
        signal: run.signal,
        onOutput: run.onOutput,
      });
    } finally {
      await spawn.cleanup?.();
    }
  };
}

/** Where the workspace, the venv and the package cache appear inside this thread's sandbox. */
export function guestPaths(sandbox: Sandbox, loc: WorkspaceLocation, mounts: Mounts = loc.mounts): GuestPaths {
  return {
    root: sandbox.backend.guestRoot(loc.dir),
    venv: sandbox.backend.guestMount({ mounts }, "venv"),
    pipCache: sandbox.backend.guestMount({ mounts }, "pipCache"),
  };
}

/** The package index settings of this runtime, as pip and uv read them. */
function installerEnv(config: RuntimeConfig): Record<string, string> {
  // The host's /etc/pip.conf is visible in the sandbox; the runtime's own settings are the only ones that count.
  const env: Record<string, string> = { PIP_CONFIG_FILE: "/dev/null" };
  const hosts = [config.PIP_INDEX_URL, config.PIP_EXTRA_INDEX_URL].flatMap((u) => (u?.startsWith("http://") ? [new URL(u).hostname] : []));
  // pip caches downloads only from https or trusted hosts: a plain-http index (a local mirror) must be trusted.
  if (hosts.length) env.PIP_TRUSTED_HOST = hosts.join(" ");
  if (config.PIP_INDEX_URL) env.PIP_INDEX_URL = env.UV_INDEX_URL = config.PIP_INDEX_URL;
  if (config.PIP_EXTRA_INDEX_URL) env.PIP_EXTRA_INDEX_URL = env.UV_EXTRA_INDEX_URL = config.PIP_EXTRA_INDEX_URL;
  return env;
}
