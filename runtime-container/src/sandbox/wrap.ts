import type { HostCommand } from "./backend.ts";

/** The layers around a backend, as the start-up self-test found them on this host. */
export interface Layers {
  /** Unprivileged uid/gid the sandbox runs as (null: the server's own, when it is not root). */
  uid: number | null;
  gid: number | null;
  /** `unshare --pid --kill-child`: one pid namespace per run, so no process outlives it. */
  pidNamespace: boolean;
  /** seccomp-exec: closes inherited fds, sets no_new_privs, installs the syscall filter. */
  seccompHelper: string | null;
}

export interface SpawnSpec {
  file: string;
  args: string[];
  cwd: string;
}

/**
 * The command line, outermost first: seccomp-exec (run by the server's uid, so the helper need not be reachable by
 * the sandbox uid), then unshare making the pid namespace (not for bwrap, which makes its own), then setpriv
 * dropping to the sandbox uid, then the backend. Each layer dies with the one before it: seccomp-exec and unshare
 * --kill-child set a parent-death signal, and setpriv sets it again after the uid change, which clears it.
 */
export function wrapCommand(cmd: HostCommand, layers: Layers, backend: string): SpawnSpec {
  let argv = [cmd.file, ...cmd.args];
  if (layers.uid !== null) {
    const ids = [`--reuid=${layers.uid}`, `--regid=${layers.gid ?? layers.uid}`, "--clear-groups"];
    argv = ["setpriv", ...ids, "--pdeathsig=KILL", "--", ...argv];
  }
  if (layers.pidNamespace && backend !== "bwrap") {
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--", ...argv];
  }
  if (layers.seccompHelper) argv = [layers.seccompHelper, ...argv];
  const [file, ...args] = argv as [string, ...string[]];
  return { file, args, cwd: cmd.cwd };
}
