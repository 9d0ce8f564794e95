import type { Readable, Writable } from "node:stream";
import {
  AppError,
  type CellResult,
  type ContextInfo,
  type ContextLanguage,
  ErrorCode,
  type EventBody,
  NdjsonParser,
} from "../../../shared/src/index.ts";
import type { GuestCommand } from "../runner/guest.ts";
import { signalTree } from "../runner/kill-tree.ts";
import { spawnTree } from "../runner/spawn.ts";
import { type CellInstaller, PipRequests } from "./cell-install.ts";
import { CellStream } from "./cell-output.ts";
import { type CellOptions, type Frame, FrameWaiter, type NextFrame } from "./kernel-protocol.ts";
import { KERNELS, type Kernel } from "./kernels.ts";
import { type LostStateCause, lostStateError } from "./lost-state.ts";
import { treeRss } from "../runner/proc-tree.ts";
import { STATUS_FD } from "../sandbox/launcher.ts";

/**
 * What it takes to start the interpreter inside the thread's sandbox (the command line with every layer), and the
 * disk quota's watchdog for it: `stop` aborts (reason: the line for stderr) when the thread goes over its quota.
 */
export type Launch = () => Promise<GuestCommand & { stop?: AbortSignal }>;

/** What the context was created with, as its info shows it: the guest working directory and the env's names. */
export interface ContextSettings {
  cwd: string;
  envNames: string[];
}

const START_TIMEOUT_MS = 30_000;
const OUTPUT_SETTLE_MS = 1_000;

/**
 * A persistent interpreter (a kernel.py or kernel.cjs) in the thread's sandbox, spoken to over fd 3 in the same
 * NDJSON frames whatever the language. Cells run one at a time; their output streams live; a timeout interrupts
 * the cell (state kept) or, when the interpreter does not come back within the grace, kills it and starts a fresh
 * one (state lost) — the result says which.
 */
export class InterpreterContext {
  readonly createdAt = new Date().toISOString();
  lastUsedAt = this.createdAt;
  cells = 0;
  /** The number of the last cell of the current interpreter (a fresh one starts again from 0). */
  private executionCount = 0;
  private child: { readonly pid?: number } | null = null;
  private control: Writable | null = null;
  private busy = false;
  private lostState = false;
  private readonly out = { stdout: new CellStream("stdout"), stderr: new CellStream("stderr") };
  private readonly frames = new FrameWaiter();
  private display: ((body: EventBody) => void) | null = null;
  private install: CellInstaller | null = null;
  private readonly pip = new PipRequests();
  /** Closed for good (its thread is being deleted): no interpreter starts any more. */
  private closed = false;
  /** Settles when the current interpreter's tree has exited and its clean-up and uid sweep are done. */
  private exited: Promise<void> = Promise.resolve();
  /** The last interpreter was stopped for the disk quota: the line for stderr, and whether a cell has shown it. */
  private quotaStop: { line: string; said: boolean } | null = null;
  /** Settles when the running cell (if any) has answered. */
  private cellDone: Promise<void> = Promise.resolve();
  /** A restart is under way (the running cell, killed by it, says so). */
  private restarting = false;

  constructor(
    readonly id: string,
    readonly language: ContextLanguage,
    private readonly launch: Launch,
    private readonly graceMs: number,
    private readonly settings: ContextSettings = { cwd: "", envNames: [] },
  ) {}

  private get kernel(): Kernel {
    return KERNELS[this.language];
  }

  get isBusy(): boolean {
    return this.busy;
  }

  get alive(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    if (this.closed) throw this.closedError();
    const cmd = await this.launch();
    // Closed while the command was prepared: start nothing (the prepared uid hold is given back).
    if (this.closed) {
      await Promise.all([cmd.release?.(), cmd.cleanup?.()]);
      throw this.closedError();
    }
    const child = spawnTree(cmd);
    this.child = child;
    this.executionCount = 0;
    // The backend's clean-up (its mount points) and the uid sweep (spawnTree starts it; release is idempotent).
    this.exited = new Promise<void>((resolve) => {
      let ended = false;
      const done = () => {
        if (ended) return;
        ended = true;
        void Promise.all([cmd.cleanup?.(), cmd.release?.()]).then(() => resolve(), () => resolve());
      };
      child.once("exit", done);
      child.once("error", done);
    });
    const parser = new NdjsonParser();
    // The run's status fd carries a context's control channel (kernel.py and kernel.cjs open fd 3).
    const control = child.stdio[STATUS_FD] as unknown as Readable & Writable;
    this.control = control;
    control.on("data", (chunk: Buffer) => {
      for (const frame of parser.push(chunk.toString("utf8")) as Frame[]) this.onFrame(frame);
    });
    child.stdout?.on("data", (chunk: Buffer) => this.out.stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => this.out.stderr.push(chunk));
    child.once("exit", () => {
      if (this.child === child) this.forget();
    });
    void child.catch(() => undefined);
    // The thread went over its disk quota: the interpreter goes (its writes would go on), and the cell says why.
    const onOverQuota = () => {
      if (this.child !== child) return;
      const line = String(cmd.stop?.reason);
      this.quotaStop = { line, said: this.out.stderr.note(line) };
      this.kill();
    };
    cmd.stop?.addEventListener("abort", onOverQuota, { once: true });
    if (cmd.stop?.aborted) onOverQuota();
    const ready = await this.next(START_TIMEOUT_MS);
    if (ready?.type !== "ready") {
      this.kill();
      throw new AppError(ErrorCode.WORKSPACE_SETUP_FAILED, `the ${this.language} interpreter of the context did not start`);
    }
  }

  /**
   * Kills the interpreter for good (its thread is being deleted) and resolves once its tree has exited and the sandbox
   * has swept its uid: nothing of it can touch the thread's files any more.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.kill();
    await this.exited;
  }

  /**
   * A fresh interpreter in place of this one: same id and settings, empty state, the counter from 0. A running cell
   * is killed with it (it answers `Restarted`); cells sent meanwhile are CONTEXT_BUSY.
   */
  async restart(): Promise<ContextInfo> {
    if (this.closed) throw this.closedError();
    if (this.restarting) throw new AppError(ErrorCode.CONTEXT_BUSY, `context ${this.id} is restarting already`);
    this.restarting = true;
    try {
      if (this.busy) {
        this.kill();
        await this.cellDone;
      }
      this.busy = true;
      try {
        this.kill();
        await this.exited;
        await this.start();
        // Asked for: the next cell's state is what the caller expects (empty), not a loss to report.
        this.lostState = false;
        this.quotaStop = null;
      } finally {
        this.busy = false;
      }
      this.lastUsedAt = new Date().toISOString();
      return await this.info();
    } finally {
      this.restarting = false;
    }
  }

  private closedError(): AppError {
    return new AppError(ErrorCode.THREAD_BUSY, `context ${this.id} was closed: its thread is being deleted`);
  }

  /** Kills the interpreter's whole tree; from now on the context is dead (the next cell starts a fresh one). */
  kill(): void {
    const pid = this.child?.pid;
    if (pid !== undefined) signalTree(pid, "SIGKILL");
    this.forget();
  }

  private forget(): void {
    if (!this.child) return;
    this.child = null;
    this.control = null;
    this.lostState = true;
    this.frames.deliver({ type: "exit" });
  }

  async info(): Promise<ContextInfo> {
    const pid = this.child?.pid;
    return {
      id: this.id,
      language: this.language,
      status: !this.alive ? "dead" : this.busy ? "busy" : "idle",
      created_at: this.createdAt,
      last_used_at: this.lastUsedAt,
      rss_bytes: pid === undefined ? null : await treeRss(pid),
      cells: this.cells,
      execution_count: this.executionCount,
      cwd: this.settings.cwd,
      env: this.settings.envNames,
    };
  }

  /** Runs a cell, its output streamed through `emit`. */
  async run(cellId: string, code: string, timeoutMs: number, emit: (body: EventBody) => void, opts: CellOptions = {}): Promise<CellResult> {
    const { env, cellEnv, signal } = opts;
    if (this.busy) throw new AppError(ErrorCode.CONTEXT_BUSY, `context ${this.id} is running a cell; one cell runs at a time`);
    this.busy = true;
    let answered = () => {};
    const cellEnded = new AbortController();
    this.cellDone = new Promise((resolve) => (answered = resolve));
    const started = performance.now();
    for (const s of Object.values(this.out)) s.text = "";
    try {
      if (!this.alive) await this.start();
      const restarted = this.lostState;
      this.lostState = false;
      this.executionCount += 1;
      const cell = await this.kernel.prepare(code, cellId);
      if (!cell.ok) return this.result(cellId, started, { ok: false, result: null, error: cell.error, state: restarted ? "restarted" : "preserved" });
      this.display = emit;
      this.install = opts.install ? { install: opts.install, ended: cellEnded.signal } : null;
      const ends = [this.out.stdout, this.out.stderr].map((s) => s.begin(cellId, (data) => emit({ type: s.name, data })));
      // The interpreter before this one was stopped while no cell ran: this cell is the first to hear why.
      const earlier = this.takeQuotaStop();
      if (earlier) this.out.stderr.note(earlier.line);
      this.control?.write(`${JSON.stringify({ op: "run", id: cellId, code: cell.code, ...(env ? { env } : {}), ...(cellEnv ? { cell_env: cellEnv } : {}) })}\n`);
      let frame = await this.next(timeoutMs, signal);
      let timedOut = false;
      let canceled = false;
      if (frame === null) {
        // Cancelled or timed out: the same interrupt (KeyboardInterrupt), so the context keeps its state if it can.
        canceled = signal?.aborted === true;
        timedOut = !canceled;
        this.control?.write(`${JSON.stringify({ op: "interrupt", id: cellId })}\n`);
        frame = await this.next(this.graceMs);
      }
      if (frame?.type === "done") {
        await Promise.race([Promise.all(ends), sleep(OUTPUT_SETTLE_MS)]);
        const error = frame.error ? cell.toCell(frame.error) : null;
        const outcome = { ok: frame.ok, result: frame.result ?? null, error, state: restarted ? ("restarted" as const) : ("preserved" as const) };
        return { ...this.result(cellId, started, outcome, timedOut), ...(canceled ? { canceled } : {}) };
      }
      // No answer: the interpreter exited, or would not stop and is killed now; either way its state is gone.
      if (this.alive) this.kill();
      this.lostState = true;
      const quotaStop = this.takeQuotaStop();
      if (quotaStop && !quotaStop.said) this.out.stderr.note(quotaStop.line);
      const cause: LostStateCause = quotaStop ? "quota" : this.restarting ? "restart" : timedOut ? "timeout" : "died";
      const error = lostStateError(cause);
      return { ...this.result(cellId, started, { ok: false, result: null, error, state: "restarted" }, timedOut), ...(canceled ? { canceled } : {}) };
    } finally {
      for (const s of Object.values(this.out)) s.stop();
      this.display = null;
      this.install = null;
      cellEnded.abort();
      this.busy = false;
      this.cells += 1;
      this.lastUsedAt = new Date().toISOString();
      answered();
    }
  }

  private takeQuotaStop(): { line: string; said: boolean } | null {
    const stop = this.quotaStop;
    this.quotaStop = null;
    return stop;
  }

  private result(cellId: string, started: number, outcome: Pick<CellResult, "ok" | "result" | "error" | "state">, timedOut = false): CellResult {
    return {
      execution_id: cellId,
      context_id: this.id,
      ...outcome,
      execution_count: this.executionCount,
      stdout: this.out.stdout.text,
      stderr: this.out.stderr.text,
      timed_out: timedOut,
      duration_ms: Math.round(performance.now() - started),
    };
  }

  private onFrame(frame: Frame): void {
    if (frame.type === "display") {
      this.display?.({ type: "display", mime: frame.mime, data: frame.data, source: frame.source });
      return;
    }
    if (frame.type === "pip") {
      const control = this.control;
      // Answered to the interpreter that asked, if it is still the one running (a dead one's channel is closed).
      void this.pip.answer(this.install, frame, (line) => {
        if (control && this.control === control) control.write(line);
      });
      return;
    }
    this.frames.deliver(frame);
  }

  /** The next ready/done frame or the process's exit; null after `timeoutMs`. */
  private next(timeoutMs: number, signal?: AbortSignal): Promise<NextFrame | null> {
    if (!this.child) return Promise.resolve({ type: "exit" });
    return this.frames.next(timeoutMs, signal);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
