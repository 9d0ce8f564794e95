import { execa } from "execa";

/**
 * Starts a sandboxed process tree the way every run and context needs it: its own process group (so the whole
 * group can be signalled), only the environment given, output as raw bytes, and fd 3 as a pipe (the launcher's
 * status for runs, the control channel for contexts). A failing program is a result, never a rejection.
 */
export function spawnTree(cmd: { file: string; args: string[]; cwd: string; env: Record<string, string> }, stdin?: string) {
  return execa(cmd.file, cmd.args, {
    cwd: cmd.cwd,
    env: cmd.env,
    extendEnv: false,
    detached: true,
    buffer: false,
    reject: false,
    cleanup: true,
    encoding: "buffer",
    stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe", "pipe"],
    ...(stdin === undefined ? {} : { input: stdin }),
  });
}
