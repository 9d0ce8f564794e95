import { existsSync, lstatSync, readlinkSync } from "node:fs";
import type { HostCommand, SandboxBackend, SandboxSpec } from "./backend.ts";
import { SYSTEM_DIRS } from "../host-dirs.ts";
import { GUEST_MOUNTS } from "./backend.ts";
import { stubGuard } from "./stubs.ts";

type Mount = { kind: "ro-bind" | "symlink"; guest: string; source: string };

/** Host system dirs as bwrap arguments; usr-merged dirs (`/bin -> usr/bin`) become symlinks, as on the host. */
function systemMounts(): Mount[] {
  return SYSTEM_DIRS.filter((d) => existsSync(d)).map((d) =>
    lstatSync(d).isSymbolicLink()
      ? { kind: "symlink", guest: d, source: readlinkSync(d) }
      : { kind: "ro-bind", guest: d, source: d },
  );
}

/**
 * bubblewrap: namespaces (pid, ipc, uts, cgroup, and user: it runs as the thread's uid, unprivileged, so it always
 * makes a user namespace; the network namespace is the thread's, joined before, see wrap.ts), read-only system dirs,
 * near-native speed. The syscall filter comes from the launcher as `--seccomp FD` (wrap.ts).
 * Binding the workspace at `/` makes bwrap create its mount points inside the workspace (see stubs.ts).
 */
export function createBwrapBackend(bwrapBin: string): SandboxBackend {
  const mounts = systemMounts();
  const mountPoints = [...mounts.map((m) => m.guest), "/dev", "/proc", "/tmp", "/var", "/workspace", ...Object.values(GUEST_MOUNTS)];
  return {
    name: "bwrap",
    guestRoot: () => "/",
    guestMount: (_spec, which) => GUEST_MOUNTS[which],
    async command(spec: SandboxSpec): Promise<HostCommand> {
      const cleanup = await stubGuard(spec.workspace, mountPoints);
      const args = [
        "--bind", spec.workspace, "/",
        "--bind", spec.workspace, "/workspace",
        ...mounts.flatMap((m) => (m.kind === "symlink" ? ["--symlink", m.source, m.guest] : ["--ro-bind", m.source, m.guest])),
        ...(existsSync("/var") ? ["--ro-bind", "/var", "/var"] : []),
        "--dev", "/dev",
        "--proc", "/proc",
        "--bind", spec.privateTmp.tmp, "/tmp",
        "--bind", spec.privateTmp.varTmp, "/var/tmp",
        "--bind", spec.privateTmp.shm, "/dev/shm",
        "--bind", spec.mounts.venv, GUEST_MOUNTS.venv,
        "--bind", spec.mounts.pipCache, GUEST_MOUNTS.pipCache,
        "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        ...(spec.unshareNet ? ["--unshare-net"] : []),
        "--die-with-parent", "--new-session",
        "--chdir", spec.cwd,
        "--", ...spec.argv,
      ];
      return { file: bwrapBin, args, cwd: spec.workspace, cleanup };
    },
  };
}
