import { DurableObject } from "cloudflare:workers";
import { AppError, ErrorCode, type ExecutionRecord, type NetworkMode, runtimePaths } from "../../../shared/src/index.ts";
import { workerConfig } from "../config.ts";
import { type RuntimeClient, runtimeClient } from "../runtime/client.ts";
import { type ThreadAccess, accessThread } from "./access.ts";
import { type ExecuteRequest, Executor } from "./executor.ts";
import { LiveEvents } from "./live.ts";
import { ThreadPlacement } from "./placement.ts";
import { type RpcResult, rpc } from "./rpc.ts";
import { type ThreadRow, ThreadStore, newIncarnation } from "./store.ts";

/**
 * One per (tenant, thread). A thin shell: SQL lives in ThreadStore, the execution state machine in Executor.
 * Methods are RPC; errors cross as values (RpcResult). Every method a thread token can reach takes the caller's
 * `access` (null for an API key) and checks it against the thread it holds (access.ts).
 */
export class ThreadDO extends DurableObject<Env> {
  private readonly store: ThreadStore;
  private readonly live = new LiveEvents();
  private readonly runtime: RuntimeClient;
  private readonly placement: ThreadPlacement;
  private readonly executor: Executor;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = workerConfig(env);
    this.store = new ThreadStore(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
    this.runtime = runtimeClient(env);
    this.placement = new ThreadPlacement(this.store, this.runtime, config.runtimeUrls);
    this.executor = new Executor(this.store, this.live, this.placement, this.runtime, config.queueMax, () => {
      void ctx.storage.setAlarm(Date.now() + config.idleTimeoutMs);
    });
    ctx.blockConcurrencyWhile(async () => this.executor.recover());
  }

  create(tenant: string, id: string, network: NetworkMode = "default"): Promise<RpcResult<{ created: boolean; thread: ThreadRow }>> {
    return rpc(() => {
      const existing = this.store.thread();
      if (existing) return { created: false, thread: existing };
      const now = new Date().toISOString();
      const runtimeUrl = this.placement.initial(tenant, id);
      const incarnation = newIncarnation();
      const thread = { id, tenant, created_at: now, last_active_at: now, runtime_url: runtimeUrl, placed_at: now, network, incarnation, token_generation: 0 };
      this.store.createThread(thread);
      return { created: true, thread };
    });
  }

  describe(access: ThreadAccess): Promise<RpcResult<{ thread: ThreadRow; counts: ReturnType<ThreadStore["counts"]> }>> {
    return rpc(() => ({ thread: this.thread(access), counts: this.store.counts() }));
  }

  /** What a token minted now carries (API keys only: the route checks). */
  tokenGrant(): Promise<RpcResult<{ incarnation: string; generation: number }>> {
    return rpc(() => {
      const thread = this.thread(null);
      return { incarnation: thread.incarnation, generation: thread.token_generation };
    });
  }

  /** Every token minted for this thread so far stops working (API keys only: the route checks). */
  revokeTokens(): Promise<RpcResult<{ generation: number }>> {
    return rpc(() => (this.thread(null), { generation: this.store.revokeTokens() }));
  }

  /**
   * The runtime for a call the worker makes on the thread's behalf (files, contexts, workspace state), moving the
   * thread first if its runtime does not answer. `replayable`: see RuntimeHealth.verdict.
   */
  route(access: ThreadAccess, replayable: boolean): Promise<RpcResult<{ thread: ThreadRow; url: string }>> {
    return rpc(() => (this.thread(access), this.placement.route(replayable)));
  }

  /** The worker's call to `url` failed as an unreachable runtime's would. */
  runtimeFailed(url: string): Promise<RpcResult<null>> {
    return rpc(() => (this.placement.failed(url), null));
  }

  submit(access: ThreadAccess, req: ExecuteRequest): Promise<RpcResult<ReadableStream<Uint8Array>>> {
    return rpc(() => this.executor.submit(this.thread(access), req));
  }

  events(access: ThreadAccess, executionId: string, after: number): Promise<RpcResult<ReadableStream<Uint8Array>>> {
    return rpc(() => {
      this.thread(access);
      const record = this.record(executionId);
      const finished = !["queued", "running"].includes(record.status);
      return this.live.subscribe(executionId, this.store.eventsAfter(executionId, after), finished, after);
    });
  }

  executions(access: ThreadAccess, limit: number): Promise<RpcResult<ExecutionRecord[]>> {
    return rpc(() => (this.thread(access), this.store.list(limit)));
  }

  execution(access: ThreadAccess, executionId: string): Promise<RpcResult<ExecutionRecord>> {
    return rpc(() => (this.thread(access), this.record(executionId)));
  }

  cancel(access: ThreadAccess, executionId: string): Promise<RpcResult<{ execution_id: string; cancelled: boolean }>> {
    return rpc(() => this.executor.cancel(this.thread(access), executionId));
  }

  /**
   * Ends its executions, deletes the workspace on the runtime, then forgets everything, the incarnation with it: a
   * thread created again under this id gets a new one. (A token may call this only if minted with `can_delete`.)
   */
  destroy(access: ThreadAccess): Promise<RpcResult<{ deleted: true }>> {
    return rpc(async () => {
      const thread = this.thread(access);
      this.executor.abandon("the thread was deleted");
      // Any runtime can delete the workspace (shared storage); a dead one's in-memory state died with it.
      await this.placement.call({ method: "DELETE", path: runtimePaths.thread(thread.tenant, thread.id) }, false);
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      // deleteAll drops the SQL tables too; this instance may serve the same id again (a 404, or a new thread).
      this.store.init();
      return { deleted: true as const };
    });
  }

  /** Idle: tell the runtime to release what it holds for this thread (there only: no failover). Never keeps anything busy. */
  override async alarm(): Promise<void> {
    const thread = this.store.thread();
    if (!thread || this.executor.busy) return;
    await this.runtime
      .call(thread.runtime_url, { method: "POST", path: `${runtimePaths.thread(thread.tenant, thread.id)}/release` })
      .catch((err: unknown) => console.warn(JSON.stringify({ level: "warn", msg: "idle release failed", error: String(err) })));
  }

  private thread(access: ThreadAccess): ThreadRow {
    return accessThread(this.store.thread(), access);
  }

  private record(executionId: string): ExecutionRecord {
    const record = this.store.execution(executionId);
    if (!record) throw new AppError(ErrorCode.EXECUTION_NOT_FOUND, `no execution ${executionId} in this thread`);
    return record;
  }
}
