import { execa } from "execa";

/**
 * Starts a sandboxed process tree the way every run and context needs it: its own process group (so the whole
 * group can be signalled), only the environment given, output as raw bytes, and fd 3 as a pipe (the launcher's
 * status for runs, the control channel for contexts). A failing program is a result, never a rejection.
 * When the process exits, the prepared command's `release` runs: the sandbox then sweeps the uid if nothing else
 * of it is live. `stdin`: text to send, or `{ pipe: true }` for a stdin the caller writes to (a background process).
 */
export function spawnTree(
  cmd: { file: string; args: string[]; cwd: string; env: Record<string, string>; release?: () => Promise<void> },
  stdin?: string | { pipe: true },
) {
  const input = typeof stdin === "string" ? stdin : undefined;
  const child = execa(cmd.file, cmd.args, {
    cwd: cmd.cwd,
    env: cmd.env,
    extendEnv: false,
    detached: true,
    buffer: false,
    reject: false,
    cleanup: true,
    encoding: "buffer",
    stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe", "pipe"],
    ...(input === undefined ? {} : { input }),
  });
  // The tree's end lets the sandbox sweep its uid (see sandbox/sweep.ts); release is idempotent.
  const release = cmd.release;
  if (release) {
    child.once("exit", () => void release());
    child.once("error", () => void release());
  }
  return child;
}
