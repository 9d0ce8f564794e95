import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { readlink, symlink } from "node:fs/promises";
import path from "node:path";
import type { HostCommand, SandboxBackend, SandboxSpec } from "./backend.ts";
import { SYSTEM_DIRS } from "../host-dirs.ts";
import { GUEST_MOUNTS } from "./backend.ts";
import { StubKeeper } from "./stubs.ts";
import { GUEST_TOOLS } from "./tools.ts";

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
 * The usr-merge links (`bin -> usr/bin`) at the top of the workspace, which is the sandbox's `/`. bwrap's own
 * `--symlink` refuses one that exists (0.8), and while another tree of the thread runs they exist: its own. So they
 * are made here, once, shared by every live tree, and removed with the other stubs after the last one (stubs.ts).
 * A name the user has taken (anything but our link) is left to bwrap's `--symlink`, which then refuses to start,
 * as before. Each is one final component in the workspace directory, whose path is root's: nothing is followed.
 */
async function placeLinks(workspace: string, links: Mount[]): Promise<Mount[]> {
  const refused: Mount[] = [];
  for (const m of links) {
    const at = path.join(workspace, path.basename(m.guest));
    await symlink(m.source, at).catch(() => undefined);
    if ((await readlink(at).catch(() => null)) !== m.source) refused.push(m);
  }
  return refused;
}

const isTopLink = (m: Mount) => m.kind === "symlink" && path.dirname(m.guest) === "/";

/** The links as a bwrap run finds them (the benchmark's replay of a captured command runs without the runtime). */
export async function placeSystemLinks(workspace: string): Promise<void> {
  await placeLinks(workspace, systemMounts().filter(isTopLink));
}

/**
 * bubblewrap: namespaces (pid, ipc, uts, cgroup, and user: it runs as the thread's uid, unprivileged, so it always
 * makes a user namespace; the network namespace is the thread's, joined before, see wrap.ts), read-only system dirs,
 * near-native speed. The syscall filter comes from the launcher as `--seccomp FD` (wrap.ts).
 * Binding the workspace at `/` makes bwrap create its mount points inside the workspace (see stubs.ts).
 * The runtime's tools directory (tools.ts), when there is one, read-only at GUEST_TOOLS.
 */
export function createBwrapBackend(bwrapBin: string, toolsDir: string | null): SandboxBackend {
  const mounts = systemMounts();
  const stubs = new StubKeeper();
  const links = mounts.filter(isTopLink);
  const binds = mounts.filter((m) => !links.includes(m));
  const mountPoints = [...mounts.map((m) => m.guest), "/dev", "/proc", "/tmp", "/var", "/workspace", ...Object.values(GUEST_MOUNTS), ...(toolsDir ? [GUEST_TOOLS] : [])];
  return {
    name: "bwrap",
    guestRoot: () => "/",
    guestMount: (_spec, which) => GUEST_MOUNTS[which],
    guestTools: () => (toolsDir ? GUEST_TOOLS : null),
    async command(spec: SandboxSpec): Promise<HostCommand> {
      const readOnly = spec.readOnly ?? [];
      const cleanup = await stubs.enter(spec.workspace, [...mountPoints, ...readOnly.map((b) => b.guest)]);
      const taken = await placeLinks(spec.workspace, links).catch(async (err: unknown) => {
        await cleanup();
        throw err;
      });
      const args = [
        "--bind", spec.workspace, "/",
        "--bind", spec.workspace, "/workspace",
        ...binds.flatMap((m) => ["--ro-bind", m.source, m.guest]),
        ...taken.flatMap((m) => ["--symlink", m.source, m.guest]),
        ...(existsSync("/var") ? ["--ro-bind", "/var", "/var"] : []),
        "--dev", "/dev",
        "--proc", "/proc",
        "--bind", spec.privateTmp.tmp, "/tmp",
        "--bind", spec.privateTmp.varTmp, "/var/tmp",
        "--bind", spec.privateTmp.shm, "/dev/shm",
        "--bind", spec.mounts.venv, GUEST_MOUNTS.venv,
        "--bind", spec.mounts.pipCache, GUEST_MOUNTS.pipCache,
        ...(toolsDir ? ["--ro-bind", toolsDir, GUEST_TOOLS] : []),
        // Read-only in the kernel's sense: a write there fails with EROFS.
        ...readOnly.flatMap((b) => ["--ro-bind", b.source, b.guest]),
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
