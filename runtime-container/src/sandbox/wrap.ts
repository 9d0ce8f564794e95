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
 * the sandbox uid), then unshare making the pid namespace and dropping to the sandbox uid — or setpriv dropping
 * it where no namespace is made here (bwrap makes its own) — then the backend.
 */
export function wrapCommand(cmd: HostCommand, layers: Layers, backend: string): SpawnSpec {
  const ids = layers.uid === null ? null : { uid: String(layers.uid), gid: String(layers.gid ?? layers.uid) };
  let argv = [cmd.file, ...cmd.args];
  if (layers.pidNamespace && backend !== "bwrap") {
    const drop = ids ? ["--setuid", ids.uid, "--setgid", ids.gid] : [];
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", ...drop, "--", ...argv];
  } else if (ids) {
    argv = ["setpriv", `--reuid=${ids.uid}`, `--regid=${ids.gid}`, "--clear-groups", "--", ...argv];
  }
  if (layers.seccompHelper) argv = [layers.seccompHelper, ...argv];
  const [file, ...args] = argv as [string, ...string[]];
  return { file, args, cwd: cmd.cwd };
}
