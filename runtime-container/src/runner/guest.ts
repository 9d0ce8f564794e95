import type { RuntimeConfig } from "../config.ts";
import type { Sandbox } from "../sandbox/create.ts";
import { sandboxEnv } from "../sandbox/environment.ts";
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
}

export type GuestRunner = (loc: WorkspaceLocation, run: GuestRun) => Promise<RunOutcome>;

/** Runs a command inside a thread's sandbox with every layer applied (backend, uid, pid namespace, seccomp). */
export function createGuestRunner(config: RuntimeConfig, sandbox: Sandbox): GuestRunner {
  return async (loc, run) => {
    const guestRoot = sandbox.backend.guestRoot(loc.dir);
    const cwd = run.cwd ?? guestRoot;
    const env = sandboxEnv(guestRoot, cwd, run.env);
    const spawn = await sandbox.prepare({
      workspace: loc.dir,
      privateTmp: loc.privateTmp,
      cwd,
      argv: launcherArgv(run.argv),
    });
    try {
      return await runProcess({
        ...spawn,
        env,
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
