import path from "node:path";
import type { HostCommand, SandboxBackend, SandboxSpec } from "./backend.ts";

/** No isolation: the command runs on the host in the workspace directory. Development only (config refuses it otherwise). */
export function createNoneBackend(toolsDir: string | null): SandboxBackend {
  return {
    name: "none",
    guestRoot: (workspace) => workspace,
    guestTools: () => toolsDir,
    guestMount: (spec, which) => spec.mounts[which],
    async command(spec: SandboxSpec): Promise<HostCommand> {
      const [file, ...args] = spec.argv;
      if (!file) throw new Error("empty command");
      return { file, args, cwd: path.resolve(spec.workspace, spec.cwd) };
    },
  };
}
