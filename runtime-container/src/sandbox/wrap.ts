import { AppError, ErrorCode, type NetworkMode } from "../../../shared/src/index.ts";
import type { Owner } from "../files/safe-open.ts";
import type { HostCommand } from "./backend.ts";
import { type RunLimits, rlimitArgs } from "./limits.ts";

/** The layers applied around a backend, as the start-up self-test found them on this host. */
export interface Layers {
  /** seccomp-exec: limits, umask, closes inherited fds, no_new_privs, the syscall filter (null: missing, degraded). */
  helper: string | null;
  /** `unshare --pid --kill-child` around each proot run, so no process outlives it. */
  pidNamespace: boolean;
  /** `unshare --net` is possible here (threads with `network: "none"`). */
  netNamespace: boolean;
}

/** Who one run is and what it may use. */
export interface RunIdentity {
  /** The thread's uid and its tenant's gid; null when the runtime cannot switch uid (not root). */
  owner: Owner;
  limits: RunLimits;
  network: NetworkMode;
}

export interface SpawnSpec {
  file: string;
  args: string[];
  cwd: string;
  /**
   * Where a timeout's or cancel's SIGTERM goes. `group`: the run's process group (proot's chain survives it).
   * `descendants`: everything below the spawned process but not it: bwrap dies on SIGTERM and takes its pid namespace
   * down with SIGKILL, so the user's processes would never get their grace.
   */
  termTarget?: "group" | "descendants";
}

/**
 * Files the sandbox creates are group-writable: the tenant's shared package cache needs it (its gid is the
 * tenant's); everything else of a thread lives in directories only its uid can enter.
 */
const SANDBOX_UMASK = "002";

/**
 * The command line, outermost first: seccomp-exec (run by the server's uid, so the helper need not be reachable by
 * the sandbox uid; it sets the run's rlimits), then unshare making the pid namespace (not for bwrap, which makes its
 * own) and the empty net namespace of a `network: "none"` thread, then setpriv dropping to the thread's uid, then the
 * backend. Each layer dies with the one before it: seccomp-exec and unshare --kill-child set a parent-death signal,
 * and setpriv sets it again after the uid change, which clears it.
 */
export function wrapCommand(cmd: HostCommand, layers: Layers, backend: string, run: RunIdentity): SpawnSpec {
  let argv = [cmd.file, ...cmd.args];
  if (run.owner) {
    const ids = [`--reuid=${run.owner.uid}`, `--regid=${run.owner.gid}`, "--clear-groups"];
    argv = ["setpriv", ...ids, "--pdeathsig=KILL", "--", ...argv];
  }
  const unshare: string[] = [];
  if (layers.pidNamespace && backend !== "bwrap") unshare.push("--pid", "--fork", "--kill-child", "--mount-proc");
  if (run.network === "none" && backend !== "bwrap") {
    if (!layers.netNamespace) {
      throw new AppError(ErrorCode.NOT_IMPLEMENTED, 'this thread has network "none", but this runtime cannot make network namespaces (it needs root)');
    }
    unshare.push("--net");
  }
  if (unshare.length > 0) argv = ["unshare", ...unshare, "--", ...argv];
  if (layers.helper) argv = [layers.helper, ...rlimitArgs(run.limits, run.owner !== null), `--umask=${SANDBOX_UMASK}`, "--", ...argv];
  const [file, ...args] = argv as [string, ...string[]];
  // seccomp-exec and setpriv exec, so the spawned process is bwrap itself.
  return { file, args, cwd: cmd.cwd, termTarget: backend === "bwrap" ? "descendants" : "group" };
}
