import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { readdir, rmdir, unlink } from "node:fs/promises";
import path from "node:path";
import type { HostCommand, SandboxBackend, SandboxSpec } from "./backend.ts";
import { SYSTEM_DIRS } from "./backend.ts";

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
 * bubblewrap: namespaces (pid, ipc, uts, and user when unprivileged), read-only system dirs, near-native speed.
 * Binding the workspace at `/` makes bwrap create its mount points inside the workspace; they are removed after
 * the run so the user's files stay the user's.
 */
export function createBwrapBackend(bwrapBin: string): SandboxBackend {
  const mounts = systemMounts();
  const mountPointNames = [...mounts.map((m) => m.guest), "/dev", "/proc", "/tmp", "/var", "/workspace"].map((g) =>
    g.slice(1),
  );
  return {
    name: "bwrap",
    guestRoot: () => "/",
    async command(spec: SandboxSpec): Promise<HostCommand> {
      await removeStubs(spec.workspace, mountPointNames);
      const before = new Set(await readdir(spec.workspace));
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
        "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--die-with-parent", "--new-session",
        "--chdir", spec.cwd,
        "--", ...spec.argv,
      ];
      const created = mountPointNames.filter((n) => !before.has(n));
      return { file: bwrapBin, args, cwd: spec.workspace, cleanup: () => removeStubs(spec.workspace, created) };
    },
  };
}

/** Removes mount-point stubs: empty directories and symlinks that bwrap made; never anything with content. */
async function removeStubs(workspace: string, names: string[]): Promise<void> {
  for (const name of names) {
    const p = path.join(workspace, name);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink() && readlinkSync(p).startsWith("usr/")) await unlink(p).catch(() => {});
    else if (st.isDirectory()) await rmdir(p).catch(() => {}); // fails, as intended, when not empty
  }
}
