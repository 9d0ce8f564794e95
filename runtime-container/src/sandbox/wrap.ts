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
  uid?: number;
  gid?: number;
}

/**
 * unshare (as root) makes the pid namespace and drops to the sandbox uid; seccomp-exec then filters; the backend
 * runs last. bwrap makes its own pid namespace, so it is spawned directly as the sandbox uid.
 */
export function wrapCommand(cmd: HostCommand, layers: Layers, backend: string): SpawnSpec {
  const inner = layers.seccompHelper ? [layers.seccompHelper, cmd.file, ...cmd.args] : [cmd.file, ...cmd.args];
  const useUnshare = layers.pidNamespace && backend !== "bwrap";
  if (useUnshare) {
    const drop = layers.uid === null ? [] : ["--setuid", String(layers.uid), "--setgid", String(layers.gid ?? layers.uid)];
    return {
      file: "unshare",
      args: ["--pid", "--fork", "--kill-child", "--mount-proc", ...drop, "--", ...inner],
      cwd: cmd.cwd,
    };
  }
  const [file, ...args] = inner as [string, ...string[]];
  return {
    file,
    args,
    cwd: cmd.cwd,
    ...(layers.uid === null ? {} : { uid: layers.uid, gid: layers.gid ?? layers.uid }),
  };
}
