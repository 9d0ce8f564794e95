import { AppError, type ContextInfo, type CreateContext, ErrorCode, newContextId } from "../../../shared/src/index.ts";
import type { RuntimeConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { DiskQuota } from "../quota/disk-quota.ts";
import { admitRun } from "../quota/run-quota.ts";
import { importPolicyEnv } from "../python/import-policy.ts";
import { prepareGuest } from "../runner/guest.ts";
import { resolveLimits } from "../sandbox/limits.ts";
import type { Sandbox } from "../sandbox/create.ts";
import { requireWorkspaceDir, resolveGuestDir } from "../workspace/guest-path.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import type { WorkspaceManager } from "../workspace/manager.ts";
import { InterpreterContext, type Launch } from "./interpreter-context.ts";
import { KERNELS } from "./kernels.ts";

const REAP_EVERY_MS = 30_000;

/**
 * The stateful contexts of every thread on this runtime. Idle ones are reclaimed after CONTEXT_IDLE_S; a thread's
 * `release` (its Durable Object's idle alarm) or deletion stops all of its contexts.
 */
export class ContextManager {
  private readonly byThread = new Map<string, Map<string, InterpreterContext>>();
  /** Threads being deleted (how many deletions are under way): no context starts in them until they are open again. */
  private readonly closed = new Map<string, number>();

  constructor(
    private readonly config: RuntimeConfig,
    private readonly sandbox: Sandbox,
    private readonly workspaces: WorkspaceManager,
    private readonly logger: Logger,
    /** Each interpreter is admitted and watched like a run: refused over the quota, stopped when it goes over. */
    private readonly quota?: DiskQuota,
  ) {
    setInterval(() => this.reap(), REAP_EVERY_MS).unref();
  }

  async create(loc: WorkspaceLocation, req: CreateContext): Promise<ContextInfo> {
    this.refuseClosed(loc);
    const kernel = KERNELS[req.language];
    const ws = await this.workspaces.ensure(loc);
    const cwd = resolveGuestDir(ws.guestRoot, req.cwd);
    await requireWorkspaceDir(loc.dir, cwd, req.cwd);
    const limits = resolveLimits(this.config, req.limits);
    const launch: Launch = async () => {
      const ready = await this.workspaces.ensure(loc);
      const admitted = this.quota ? await admitRun(this.quota, loc, limits, "the context's interpreter was not started") : null;
      try {
        const argv = kernel.argv(ready.venv);
        // Read at each start: a restart applies the thread's policy as it is now.
        const policy = req.language === "python" ? importPolicyEnv(this.sandbox.settings.importPolicy(loc.key)) : {};
        const env = { ...req.env, ...policy };
        const cmd = await prepareGuest(this.config, this.sandbox, loc, { argv, cwd: cwd.guest, env, limits: admitted?.limits ?? limits });
        if (!admitted) return cmd;
        // The interpreter's end (its exit, or a start given up) ends its watch.
        const release = async () => {
          try {
            await cmd.release?.();
          } finally {
            admitted.end();
          }
        };
        return { ...cmd, release, stop: admitted.signal };
      } catch (err) {
        admitted?.end();
        throw err;
      }
    };
    const id = newContextId();
    const settings = { cwd: cwd.guest, envNames: Object.keys(req.env ?? {}).sort() };
    const context = new InterpreterContext(id, req.language, launch, this.config.KILL_GRACE_MS, settings);
    await context.start();
    // The thread's deletion began while this one started: it was not among the contexts the deletion stopped.
    if (this.closed.has(loc.key)) {
      await context.close();
      this.refuseClosed(loc);
    }
    const contexts = this.byThread.get(loc.key) ?? new Map<string, InterpreterContext>();
    contexts.set(context.id, context);
    this.byThread.set(loc.key, contexts);
    this.logger.info("context started", { thread_id: loc.thread, tenant: loc.tenant, context_id: context.id, language: req.language });
    return context.info();
  }

  get(loc: WorkspaceLocation, id: string): InterpreterContext {
    const context = this.byThread.get(loc.key)?.get(id);
    if (!context) throw new AppError(ErrorCode.CONTEXT_NOT_FOUND, `no context ${id} in thread ${loc.thread} on this runtime`);
    return context;
  }

  /** A fresh interpreter for the context (settings kept, state gone). */
  async restart(loc: WorkspaceLocation, id: string): Promise<ContextInfo> {
    this.refuseClosed(loc);
    const info = await this.get(loc, id).restart();
    this.logger.info("context restarted", { thread_id: loc.thread, tenant: loc.tenant, context_id: id });
    return info;
  }

  list(loc: WorkspaceLocation): Promise<ContextInfo[]> {
    return Promise.all([...(this.byThread.get(loc.key)?.values() ?? [])].map((c) => c.info()));
  }

  delete(loc: WorkspaceLocation, id: string): void {
    this.get(loc, id).kill();
    this.byThread.get(loc.key)?.delete(id);
  }

  /**
   * Stops every interpreter but keeps the contexts: each one's next cell starts a fresh interpreter and says
   * `state: "restarted"` (the storage their workspaces were on was lost, so they could not go on as they were).
   */
  stopAll(): void {
    for (const contexts of this.byThread.values()) for (const context of contexts.values()) context.kill();
  }

  /**
   * The thread is being deleted: refuses new contexts (THREAD_BUSY) until `open`, kills every interpreter of the thread
   * for good, and resolves once each has exited and its uid is swept. Returns how many contexts there were.
   */
  async close(loc: WorkspaceLocation): Promise<number> {
    this.closed.set(loc.key, (this.closed.get(loc.key) ?? 0) + 1);
    const contexts = [...(this.byThread.get(loc.key)?.values() ?? [])];
    this.byThread.delete(loc.key);
    await Promise.all(contexts.map((c) => c.close()));
    return contexts.length;
  }

  open(loc: WorkspaceLocation): void {
    const left = (this.closed.get(loc.key) ?? 1) - 1;
    if (left > 0) this.closed.set(loc.key, left);
    else this.closed.delete(loc.key);
  }

  private refuseClosed(loc: WorkspaceLocation): void {
    if (this.closed.has(loc.key)) {
      throw new AppError(ErrorCode.THREAD_BUSY, `thread ${loc.thread} is being deleted; no context starts in it`);
    }
  }

  /** Stops every context of the thread; returns how many there were. */
  release(loc: WorkspaceLocation): number {
    const contexts = this.byThread.get(loc.key);
    for (const context of contexts?.values() ?? []) context.kill();
    this.byThread.delete(loc.key);
    return contexts?.size ?? 0;
  }

  private reap(): void {
    const cutoff = Date.now() - this.config.CONTEXT_IDLE_S * 1000;
    for (const [key, contexts] of this.byThread) {
      for (const [id, context] of contexts) {
        if (context.isBusy || Date.parse(context.lastUsedAt) >= cutoff) continue;
        context.kill();
        contexts.delete(id);
        this.logger.info("idle context reclaimed", { thread: key, context_id: id });
      }
    }
  }
}
