import type { Readable, Writable } from "node:stream";
import { constants } from "node:os";
import { AppError, ErrorCode, type ProcessInfo, type ProcessReason, type ProcessStatus } from "../../../shared/src/index.ts";
import type { GuestCommand } from "../runner/guest.ts";
import { signalDescendants, signalTree } from "../runner/kill-tree.ts";
import { spawnTree } from "../runner/spawn.ts";
import { STATUS_FD, parseLauncherStatus } from "../sandbox/launcher.ts";
import { LogRing } from "./log-ring.ts";

/** How long output may still drain after the tree exited (see runner/run.ts DRAIN_MS). */
const DRAIN_MS = 2_000;
/** Bytes written to stdin that the process has not read yet: a write beyond them is refused. */
export const STDIN_BUFFER_BYTES = 1024 * 1024;

export interface ProcessOptions {
  id: string;
  name: string | null;
  command: string;
  killGraceMs: number;
  lifetimeMs: number;
  logBytes: number;
  /** Aborted when the thread went over its disk quota: the process is stopped at once. */
  diskQuota?: AbortSignal;
  /** After the tree has exited and its uid was swept (the quota watch ends here too). */
  onEnded: () => Promise<void>;
}

/**
 * One background process: a guest command started like a run (same wrapper, uid, limits, cgroup), with no timeout
 * but a lifetime cap, its output in a bounded ring, its stdin open. Stopping it kills the whole tree: TERM, the
 * grace, then KILL to the group and the pid namespace's first process (what left the group dies with the namespace).
 */
export class BackgroundProcess {
  readonly logs: LogRing;
  readonly startedAt = new Date().toISOString();
  private endedAt: string | null = null;
  private status: ProcessStatus = "running";
  private reason: ProcessReason | null = null;
  private exitCode: number | null = null;
  private stdin: Writable | null = null;
  private pid: number | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private lifetimeTimer: NodeJS.Timeout | undefined;
  private sent: NodeJS.Signals | null = null;
  /** Resolves once the process has ended and its logs are complete. */
  readonly ended: Promise<void>;

  constructor(
    private readonly opts: ProcessOptions,
    private readonly cmd: GuestCommand,
  ) {
    this.logs = new LogRing(opts.logBytes);
    this.ended = this.run();
  }

  get id(): string {
    return this.opts.id;
  }

  get isRunning(): boolean {
    return this.status === "running";
  }

  /** Host pid of the tree's first process (undefined once ended). */
  get hostPid(): number | undefined {
    return this.isRunning ? this.pid : undefined;
  }

  info(): ProcessInfo {
    const o = this.opts;
    return {
      id: o.id, name: o.name, command: o.command, status: this.status, exit_code: this.exitCode, reason: this.reason,
      started_at: this.startedAt, ended_at: this.endedAt, last_seq: this.logs.lastSeq,
    };
  }

  /** Stops the whole tree (TERM, grace, KILL; at once with `graceMs` 0) and resolves once it has ended. */
  async stop(reason: ProcessReason, graceMs = this.opts.killGraceMs): Promise<void> {
    if (this.isRunning && this.reason === null) this.reason = reason;
    this.terminate(graceMs);
    await this.ended;
  }

  /** Writes to stdin; refused once the process ended or closed it, or while it has not read 1 MiB already written. */
  async write(data: string, eof: boolean): Promise<number> {
    const stdin = this.stdin;
    if (!this.isRunning || !stdin || stdin.writableEnded || stdin.destroyed) {
      throw new AppError(ErrorCode.PROCESS_NOT_RUNNING, `process ${this.id} is not running or its stdin is closed`);
    }
    const bytes = Buffer.from(data, "utf8");
    if (stdin.writableLength + bytes.length > STDIN_BUFFER_BYTES) {
      throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `process ${this.id} has not read what was written to its stdin (at most ${STDIN_BUFFER_BYTES} bytes wait); try again once it has`);
    }
    stdin.write(bytes);
    if (eof) stdin.end();
    return bytes.length;
  }

  private terminate(graceMs: number): void {
    if (this.killTimer || this.pid === undefined || !this.isRunning) return;
    if (graceMs <= 0) return this.send("SIGKILL");
    this.send("SIGTERM");
    this.killTimer = setTimeout(() => this.send("SIGKILL"), graceMs);
  }

  private send(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    this.sent = signal;
    if (signal === "SIGTERM" && this.cmd.termTarget === "descendants") signalDescendants(this.pid, signal);
    else signalTree(this.pid, signal);
  }

  private async run(): Promise<void> {
    const child = spawnTree(this.cmd, { pipe: true });
    this.pid = child.pid;
    this.stdin = child.stdin ?? null;
    // A process that exits or closes stdin makes writes fail with EPIPE: a result for the writer, not a crash.
    child.stdin?.on("error", () => undefined);
    for (const name of ["stdout", "stderr"] as const) child[name]?.on("data", (chunk: Buffer) => this.logs.push(name, chunk));
    let statusText = "";
    const statusPipe = child.stdio[STATUS_FD] as Readable | undefined;
    statusPipe?.on("data", (chunk: Buffer) => {
      statusText += chunk.toString("latin1");
      // The command ended: what it left behind is killed at once, as after a run.
      if (parseLauncherStatus(statusText) !== null) this.terminate(0);
    });
    this.lifetimeTimer = setTimeout(() => void this.stop("lifetime"), this.opts.lifetimeMs);
    const onQuota = () => void this.stop("disk_quota", 0);
    this.opts.diskQuota?.addEventListener("abort", onQuota, { once: true });
    if (this.opts.diskQuota?.aborted) onQuota();

    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    clearTimeout(this.lifetimeTimer);
    this.opts.diskQuota?.removeEventListener("abort", onQuota);
    if (this.pid !== undefined) signalTree(this.pid, "SIGKILL");
    clearTimeout(this.killTimer);
    await drain([child.stdout, child.stderr, statusPipe]);
    void child.catch(() => undefined);
    const status = parseLauncherStatus(statusText);
    const stoppedBy = this.reason !== null ? this.sent : null;
    const signal = status === null ? (stoppedBy ?? exit.signal) : null;
    this.exitCode = status ?? (signal ? 128 + constants.signals[signal] : (exit.code ?? 1));
    await this.opts.onEnded().catch(() => undefined);
    this.endedAt = new Date().toISOString();
    this.status = this.reason === null ? "exited" : "killed";
    this.logs.end();
  }
}

async function drain(streams: (Readable | null | undefined)[]): Promise<void> {
  const open = streams.filter((s): s is Readable => !!s && !s.readableEnded && !s.destroyed);
  const ended = Promise.all(open.map((s) => new Promise<void>((r) => s.once("close", () => r()))));
  await Promise.race([ended, new Promise<void>((r) => setTimeout(r, DRAIN_MS).unref())]);
  for (const s of open) s.destroy();
}
