import { AppError, ErrorCode, type ProcessInfo, type ProcessReason, type StartProcess, newProcessId } from "../../../shared/src/index.ts";
import type { RuntimeConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { DiskQuota } from "../quota/disk-quota.ts";
import { admitRun } from "../quota/run-quota.ts";
import { prepareGuest } from "../runner/guest.ts";
import { launcherArgv } from "../sandbox/launcher.ts";
import { resolveLimits } from "../sandbox/limits.ts";
import type { Sandbox } from "../sandbox/create.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { requireWorkspaceDir, resolveGuestDir } from "../workspace/guest-path.ts";
import type { WorkspaceManager } from "../workspace/manager.ts";
import { BackgroundProcess } from "./background-process.ts";

/** Ended processes a thread keeps for GET and logs (the oldest go first); its worker keeps the history. */
const ENDED_KEPT = 32;

/**
 * The background processes of every thread on this runtime. A process the runtime does not know (it restarted, or the
 * process ended long ago) is PROCESS_NOT_FOUND: the thread's object reports it as lost, never as running.
 */
export class ProcessManager {
  private readonly byThread = new Map<string, Map<string, BackgroundProcess>>();
  /** Threads being deleted: no process starts in them meanwhile. */
  private readonly closed = new Map<string, number>();

  constructor(
    private readonly config: RuntimeConfig,
    private readonly sandbox: Sandbox,
    private readonly workspaces: WorkspaceManager,
    private readonly logger: Logger,
    private readonly quota?: DiskQuota,
  ) {}

  async start(loc: WorkspaceLocation, req: StartProcess): Promise<ProcessInfo> {
    this.refuseClosed(loc);
    this.refuseOverCap(loc);
    const ws = await this.workspaces.ensure(loc);
    const cwd = resolveGuestDir(ws.guestRoot, req.cwd);
    await requireWorkspaceDir(loc.dir, cwd, req.cwd);
    const resolved = resolveLimits(this.config, req.limits);
    const admitted = this.quota ? await admitRun(this.quota, loc, resolved, "the process was not started") : null;
    const argv = launcherArgv(["/bin/bash", "-c", req.command]);
    const cmd = await prepareGuest(this.config, this.sandbox, loc, { argv, cwd: cwd.guest, env: req.env, limits: admitted?.limits ?? resolved }).catch(
      (err: unknown) => {
        admitted?.end();
        throw err;
      },
    );
    // Checked again after the awaits: starts that arrived together must not pass the cap together.
    try {
      this.refuseClosed(loc);
      this.refuseOverCap(loc);
    } catch (err) {
      admitted?.end();
      await cmd.release?.();
      await cmd.cleanup?.();
      throw err;
    }
    const id = newProcessId();
    const proc = new BackgroundProcess(
      {
        id, name: req.name ?? null, command: req.command, killGraceMs: this.config.KILL_GRACE_MS,
        lifetimeMs: this.config.PROCESS_LIFETIME_S * 1000, logBytes: this.config.PROCESS_LOG_BYTES, diskQuota: admitted?.signal,
        onEnded: async () => {
          try {
            await cmd.release?.();
            await cmd.cleanup?.();
          } finally {
            admitted?.end();
          }
        },
      },
      cmd,
    );
    const procs = this.threadMap(loc);
    procs.set(id, proc);
    void proc.ended.then(() => {
      this.logger.info("process ended", { thread_id: loc.thread, tenant: loc.tenant, process_id: id, ...proc.info() });
      this.prune(procs);
    });
    this.logger.info("process started", { thread_id: loc.thread, tenant: loc.tenant, process_id: id });
    return proc.info();
  }

  get(loc: WorkspaceLocation, id: string): BackgroundProcess {
    const proc = this.byThread.get(loc.key)?.get(id);
    if (!proc) throw new AppError(ErrorCode.PROCESS_NOT_FOUND, `no process ${id} in thread ${loc.thread} on this runtime`);
    return proc;
  }

  list(loc: WorkspaceLocation): ProcessInfo[] {
    return [...(this.byThread.get(loc.key)?.values() ?? [])].map((p) => p.info());
  }

  /** Stops every process of the thread (its release); resolves once all have ended. Returns how many ran. */
  async release(loc: WorkspaceLocation, reason: ProcessReason = "released"): Promise<number> {
    const running = [...(this.byThread.get(loc.key)?.values() ?? [])].filter((p) => p.isRunning);
    await Promise.all(running.map((p) => p.stop(reason)));
    return running.length;
  }

  /** Every process on this runtime (its storage was lost: they would write to the wrong place). */
  stopAll(reason: ProcessReason): void {
    for (const procs of this.byThread.values()) for (const p of procs.values()) void p.stop(reason, 0);
  }

  /** The thread is being deleted: no new process until `open`; every one of its processes ended. */
  async close(loc: WorkspaceLocation): Promise<number> {
    this.closed.set(loc.key, (this.closed.get(loc.key) ?? 0) + 1);
    const n = await this.release(loc);
    this.byThread.delete(loc.key);
    return n;
  }

  open(loc: WorkspaceLocation): void {
    const left = (this.closed.get(loc.key) ?? 1) - 1;
    if (left > 0) this.closed.set(loc.key, left);
    else this.closed.delete(loc.key);
  }

  private threadMap(loc: WorkspaceLocation): Map<string, BackgroundProcess> {
    const procs = this.byThread.get(loc.key) ?? new Map<string, BackgroundProcess>();
    this.byThread.set(loc.key, procs);
    return procs;
  }

  private refuseOverCap(loc: WorkspaceLocation): void {
    const running = [...(this.byThread.get(loc.key)?.values() ?? [])].filter((p) => p.isRunning).length;
    const max = this.config.PROCESS_MAX_PER_THREAD;
    if (running >= max) {
      throw new AppError(ErrorCode.TOO_MANY_PROCESSES, `thread ${loc.thread} already runs ${running} background processes (at most ${max}); stop one first`, { max });
    }
  }

  private refuseClosed(loc: WorkspaceLocation): void {
    if (this.closed.has(loc.key)) throw new AppError(ErrorCode.THREAD_BUSY, `thread ${loc.thread} is being deleted; no process starts in it`);
  }

  private prune(procs: Map<string, BackgroundProcess>): void {
    const ended = [...procs.values()].filter((p) => !p.isRunning);
    for (const p of ended.slice(0, Math.max(0, ended.length - ENDED_KEPT))) procs.delete(p.id);
  }
}
