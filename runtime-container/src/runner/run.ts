import { constants } from "node:os";
import type { Readable } from "node:stream";
import { AppError } from "../../../shared/src/index.ts";
import { STATUS_FD, parseLauncherStatus } from "../sandbox/launcher.ts";
import { signalDescendants, signalTree } from "./kill-tree.ts";
import { spawnTree } from "./spawn.ts";
import { OutputCollector, type StreamName } from "./output.ts";

export interface RunRequest {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin?: string;
  timeoutMs: number;
  killGraceMs: number;
  maxOutputBytes: number;
  /** Where SIGTERM goes (see SpawnSpec.termTarget); SIGKILL always goes to the group and the spawned process. */
  termTarget?: "group" | "descendants";
  /**
   * Aborting cancels the run: TERM, then KILL after the grace; at once when the reason is an AppError (the platform
   * failed under the run, e.g. its storage is gone: there is nothing left for a graceful exit to save to).
   */
  signal?: AbortSignal;
  /**
   * Aborted by the disk quota's watchdog (reason: the line for stderr) when the thread went over its quota: the run
   * is killed at once and ends with `diskQuotaExceeded`, the line at the end of its stderr.
   */
  diskQuota?: AbortSignal;
  /**
   * The run's memory limit for the whole run (its cgroup): `kills` counts the processes the kernel's OOM killer took
   * in the group (the final count once the tree has ended). The first one ends the run (its processes together
   * went over the limit: what is left of it would only run on crippled), reported as `memoryLimitExceeded` with
   * `line` at the end of its stderr.
   */
  memory?: { kills: () => Promise<number>; line: string };
  onOutput?: (stream: StreamName, text: string) => void;
  /** Called when the process exits (see spawnTree). */
  release?: () => Promise<void>;
}

/** A finished run. A failing program is a result with flags, never an exception. */
export interface RunOutcome {
  exitCode: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  canceled: boolean;
  truncated: boolean;
  /** Stopped because the thread went over its disk quota (see RunRequest.diskQuota). */
  diskQuotaExceeded?: boolean;
  /** The kernel killed a process of the run at its memory limit (see RunRequest.memory); the run was stopped. */
  memoryLimitExceeded?: boolean;
  durationMs: number;
}

/**
 * How long output may still drain after the process exited before its pipes are closed by force. The tree is
 * dead by then, so the pipes end as soon as the event loop reads what is buffered; on a loaded host that can take
 * a while, and cutting it short loses the end of the output (a run that printed would answer empty). Only a
 * survivor still holding a pipe (which the uid sweep then kills) makes a run wait this long.
 */
const DRAIN_MS = 2_000;

/** How often a live run's cgroup is asked for OOM kills (v1 has no notification Node can wait on). */
const OOM_POLL_MS = 200;

/**
 * Runs one process tree: stdin, live output under a byte cap, a wall timeout, cancel, and the exit status read from
 * the launcher's status pipe (fd 3). Whatever stops the run, every process of the tree is killed before it returns.
 */
export async function runProcess(req: RunRequest): Promise<RunOutcome> {
  const started = performance.now();
  const output = new OutputCollector(req.maxOutputBytes, (stream, text) => req.onOutput?.(stream, text));
  const child = spawnTree(req, req.stdin);
  const pid = child.pid;

  let timedOut = false;
  let canceled = false;
  let statusText = "";
  let killTimer: NodeJS.Timeout | undefined;
  let sent: NodeJS.Signals | null = null;
  const send = (signal: NodeJS.Signals) => {
    if (pid === undefined) return;
    sent = signal;
    if (signal === "SIGTERM" && req.termTarget === "descendants") signalDescendants(pid, signal);
    else signalTree(pid, signal);
  };
  const terminate = (graceMs: number) => {
    if (killTimer) return;
    if (graceMs <= 0) return send("SIGKILL");
    send("SIGTERM");
    killTimer = setTimeout(() => send("SIGKILL"), graceMs);
  };

  const timer = setTimeout(() => {
    timedOut = true;
    terminate(req.killGraceMs);
  }, req.timeoutMs);
  const onAbort = () => {
    canceled = true;
    terminate(req.signal?.reason instanceof AppError ? 0 : req.killGraceMs);
  };
  req.signal?.addEventListener("abort", onAbort, { once: true });
  if (req.signal?.aborted) onAbort();
  let overQuota: string | null = null;
  const onOverQuota = () => {
    if (parseLauncherStatus(statusText) !== null) return; // the command had ended: it was not stopped
    overQuota = String(req.diskQuota?.reason);
    terminate(0);
  };
  req.diskQuota?.addEventListener("abort", onOverQuota, { once: true });
  if (req.diskQuota?.aborted) onOverQuota();
  let overMemory = false;
  let stoppedForMemory = false;
  const onOverMemory = () => {
    overMemory = true;
    if (parseLauncherStatus(statusText) !== null) return; // the command had ended: it was not stopped
    stoppedForMemory = true;
    terminate(0);
  };
  let memoryTimer: NodeJS.Timeout | undefined;
  const pollMemory = () => {
    memoryTimer = setTimeout(async () => {
      const kills = (await req.memory?.kills().catch(() => 0)) ?? 0;
      if (memoryTimer === undefined) return; // the run ended meanwhile: the final count is read below
      if (kills > 0) onOverMemory();
      else pollMemory();
    }, OOM_POLL_MS);
  };
  if (req.memory) pollMemory();

  const watch = (stream: Readable | null | undefined, name: StreamName) =>
    stream?.on("data", (chunk: Buffer) => {
      if (!output.push(name, chunk)) terminate(0);
    });
  watch(child.stdout, "stdout");
  watch(child.stderr, "stderr");

  // The launcher writes the user's command's status in one write() when it exits (proot and the wrappers keep
  // the pipe open, so there is no EOF to wait for); what the command left behind is killed at once.
  const statusPipe = child.stdio[STATUS_FD] as Readable | undefined;
  statusPipe?.on("data", (chunk: Buffer) => {
    statusText += chunk.toString("latin1");
    if (parseLauncherStatus(statusText) !== null) terminate(0);
  });

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
  });
  clearTimeout(timer);
  clearTimeout(memoryTimer);
  memoryTimer = undefined;
  req.signal?.removeEventListener("abort", onAbort);
  req.diskQuota?.removeEventListener("abort", onOverQuota);
  const stoppedBy = timedOut || canceled || output.truncated || overQuota !== null || stoppedForMemory ? sent : null;
  if (pid !== undefined) signalTree(pid, "SIGKILL");
  clearTimeout(killTimer);
  await drain([child.stdout, child.stderr, statusPipe]);
  void child.catch(() => undefined);
  // The final count (the tree has ended, its group is being removed): an OOM kill just before the end counts too.
  if (!overMemory && req.memory && (await req.memory.kills().catch(() => 0)) > 0) overMemory = true;
  output.finish();
  const memoryLine = overMemory ? (req.memory?.line ?? "") : "";
  // After the program's own output, past the cap if need be: the reason it stopped must not be cut off.
  if (overQuota !== null) req.onOutput?.("stderr", overQuota);
  if (memoryLine) req.onOutput?.("stderr", memoryLine);

  if (exit.error) throw exit.error;
  // Without the launcher's status, the wrappers' own exit code (proot says 255) is not the command's: when we
  // stopped the run, report the signal we sent, as a shell would.
  const status = parseLauncherStatus(statusText);
  // A command the OOM killer took itself is reported by the launcher as 137: name the signal, as for one we sent.
  const oomKilled = overMemory && status === 128 + constants.signals.SIGKILL ? "SIGKILL" : null;
  const signal = stoppedBy ?? oomKilled ?? (status === null ? exit.signal : null);
  const exitCode = status ?? (signal ? 128 + constants.signals[signal] : (exit.code ?? 1));
  return {
    exitCode,
    signal,
    stdout: output.text.stdout,
    stderr: output.text.stderr + (overQuota ?? "") + memoryLine,
    timedOut,
    canceled,
    truncated: output.truncated,
    ...(overQuota !== null ? { diskQuotaExceeded: true } : {}),
    ...(overMemory ? { memoryLimitExceeded: true } : {}),
    durationMs: performance.now() - started,
  };
}

/** Waits for the pipes to end, but no longer than DRAIN_MS: a survivor must not hold the run open. */
async function drain(streams: (Readable | null | undefined)[]): Promise<void> {
  const open = streams.filter((s): s is Readable => !!s && !s.readableEnded && !s.destroyed);
  const ended = Promise.all(open.map((s) => new Promise<void>((r) => s.once("close", () => r()))));
  const timeout = new Promise<void>((r) => setTimeout(r, DRAIN_MS).unref());
  await Promise.race([ended, timeout]);
  for (const s of open) s.destroy();
}
