import { spawn } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import type { Readable } from "node:stream";
import { placeSystemLinks } from "../runtime-container/src/sandbox/bwrap.ts";
import { removeStubs } from "../runtime-container/src/sandbox/stubs.ts";
import { type ThreadApi, post } from "./clients.ts";
import { type HostCommand, replayable } from "./command-layers.ts";

export type { HostCommand } from "./command-layers.ts";

/**
 * The baseline the runtime is measured against: the very host command line the runtime spawns for a guest command,
 * captured from the runtime process itself (spawn-capture.mjs), replayed from here with nothing around it.
 */
export const CAPTURE_MARKER = "threadbox-bench-capture";

/** Runs `true` on the thread with the marker in its command and returns the host command the runtime spawned. */
export async function captureExec(api: ThreadApi, thread: string, logFile: string): Promise<HostCommand> {
  const command = `true # ${CAPTURE_MARKER} ${thread}`;
  await post(api, thread, "/exec", { command });
  const lines = (await readFile(logFile, "utf8").catch(() => "")).split("\n").filter(Boolean);
  const found = lines.map((l) => JSON.parse(l) as HostCommand).findLast((c) => c.args.at(-1) === command);
  if (!found) throw new Error(`the runtime's spawn of ${JSON.stringify(command)} was not captured in ${logFile}`);
  const before = new Set(await readdir(found.cwd).catch(() => []));
  // The runtime makes bwrap's usr-merge links before it spawns (bwrap.ts), and removes them after: so does a replay.
  const bwrap = found.args.some((a) => a.endsWith("/bwrap") || a === "bwrap");
  const prepare = bwrap ? () => placeSystemLinks(found.cwd) : undefined;
  // Whatever appears at the top of the workspace during a run and was not there before is a stub (see stubs.ts).
  const cleanup = async () => removeStubs(found.cwd, (await readdir(found.cwd).catch(() => [])).filter((n) => !before.has(n)));
  return { ...replayable(found), prepare, cleanup };
}

/**
 * Prepares the workspace as the runtime does (HostCommand.prepare), spawns a host command with fd 3 open (the
 * launcher's status pipe) and waits until it exited and its pipes closed, then removes its stubs, as the runtime
 * does; rejects on a non-zero exit (a failing command times nothing).
 */
export async function spawnOnce(cmd: HostCommand, timeoutMs = 120_000): Promise<void> {
  await cmd.prepare?.();
  await spawnAndWait(cmd, timeoutMs);
  await cmd.cleanup?.();
}

function spawnAndWait(cmd: HostCommand, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.file, cmd.args, { cwd: cmd.cwd, env: cmd.env, stdio: ["ignore", "pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stdout?.resume();
    (child.stdio[3] as Readable | null)?.resume();
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd.file} ${cmd.args.slice(-4).join(" ")} exited with ${code ?? signal}: ${stderr.slice(-500)}`));
    });
  });
}
