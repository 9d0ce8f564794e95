import { existsSync } from "node:fs";
import type { HostCommand, SandboxBackend, SandboxSpec } from "./backend.ts";
import { SYSTEM_DIRS } from "../host-dirs.ts";
import { GUEST_MOUNTS } from "./backend.ts";
import { StubKeeper } from "./stubs.ts";
import { GUEST_TOOLS } from "./tools.ts";

/**
 * proot (seed 002): the workspace is `/` and `/workspace`; system dirs, /dev, /proc and /sys bound from the host;
 * private tmp dirs over /tmp, /var/tmp and /dev/shm. proot gives the view only; the uid switch, pid namespace and
 * seccomp filter around it (see wrap.ts) give the security. The runtime's tools directory (tools.ts), when there is
 * one, at GUEST_TOOLS: proot binds as-is, so findTools only takes a directory no sandbox uid can write.
 */
export function createProotBackend(prootBin: string, toolsDir: string | null): SandboxBackend {
  const stubs = new StubKeeper();
  const systemBinds = [...SYSTEM_DIRS, "/var"].filter((d) => existsSync(d));
  return {
    name: "proot",
    guestRoot: () => "/",
    guestMount: (_spec, which) => GUEST_MOUNTS[which],
    guestTools: () => (toolsDir ? GUEST_TOOLS : null),
    async command(spec: SandboxSpec): Promise<HostCommand> {
      const binds = [
        ...systemBinds.map((d) => `${d}:${d}`),
        "/dev:/dev",
        "/proc:/proc",
        "/sys:/sys",
        `${spec.privateTmp.tmp}:/tmp`,
        `${spec.privateTmp.varTmp}:/var/tmp`,
        `${spec.privateTmp.shm}:/dev/shm`,
        `${spec.workspace}:/workspace`,
        `${spec.mounts.venv}:${GUEST_MOUNTS.venv}`,
        `${spec.mounts.pipCache}:${GUEST_MOUNTS.pipCache}`,
        ...(toolsDir ? [`${toolsDir}:${GUEST_TOOLS}`] : []),
        // proot binds are not read-only: these directories are root's (0755, files 0644), so a write fails with EACCES.
        ...(spec.readOnly ?? []).map((b) => `${b.source}:${b.guest}`),
      ];
      const cleanup = await stubs.enter(spec.workspace, binds.map((b) => b.slice(b.lastIndexOf(":") + 1)));
      return {
        cleanup,
        file: prootBin,
        args: ["--verbose=-1", "-r", spec.workspace, ...binds.flatMap((b) => ["-b", b]), "-w", spec.cwd, ...spec.argv],
        cwd: spec.workspace,
      };
    },
  };
}
