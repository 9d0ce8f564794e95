import { DurableObject } from "cloudflare:workers";
import {
  AppError,
  ErrorCode,
  type ExecutionRecord,
  type ImportPolicy,
  type NetworkMode,
  type StreamFormat,
  type ThreadRef,
  type ThreadState,
  runtimePaths,
} from "../../../shared/src/index.ts";
import { type WorkerConfig, tenantImportPolicy, workerConfig } from "../config.ts";
import { combineImportPolicies } from "../../../shared/src/index.ts";
import { type RuntimeClient, runtimeClient } from "../runtime/client.ts";
import { type ThreadAccess, accessThread } from "./access.ts";
import { type Answer, answer, eventLog } from "./answer.ts";
import { type ExecuteRequest, Executor } from "./executor.ts";
import { LiveEvents } from "./live.ts";
import { ThreadPlacement } from "./placement.ts";
import { type RpcResult, rpc } from "./rpc.ts";
import { type ThreadRow, ThreadStore, newIncarnation, rowRef } from "./store.ts";
import { type ContextOp, ThreadCalls } from "./thread-calls.ts";
import { ProcessStore } from "./process-store.ts";
import { type ProcessOp, ThreadProcesses } from "./thread-processes.ts";

/**
 * One per (tenant, thread). A thin shell: SQL lives in ThreadStore, the execution state machine in Executor, the
 * small runtime calls in ThreadCalls. Methods are RPC; errors cross as values (RpcResult). Every method a thread
 * token can reach takes the caller's `access` (null for an API key) and checks it against the thread it holds.
 */
export class ThreadDO extends DurableObject<Env> {
  private readonly store: ThreadStore;
  private readonly live = new LiveEvents();
  private readonly runtime: RuntimeClient;
  private readonly placement: ThreadPlacement;
  private readonly executor: Executor;
  private readonly calls: ThreadCalls;
  private readonly processes: ThreadProcesses;
  private readonly config: WorkerConfig;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = workerConfig(env);
    this.config = config;
    this.store = new ThreadStore(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
    this.runtime = runtimeClient(env);
    this.placement = new ThreadPlacement(this.store, this.runtime, config.runtimeUrls);
    this.calls = new ThreadCalls(this.store, this.placement, config.runtimeUrls);
    this.processes = new ThreadProcesses(new ProcessStore(ctx.storage.sql), this.placement, this.runtime);
    this.executor = new Executor(this.store, this.live, this.placement, this.runtime, config.queueMax, () => {
      void ctx.storage.setAlarm(Date.now() + config.idleTimeoutMs);
    });
    ctx.blockConcurrencyWhile(async () => this.executor.recover());
  }

  /** Creates the thread and sets its workspace up; `created: false` when it exists already (nothing changed). */
  create(
    ref: ThreadRef,
    network: NetworkMode = "default",
    importPolicy?: ImportPolicy,
  ): Promise<RpcResult<{ created: boolean; state: ThreadState | null }>> {
    return rpc(async () => {
      if (this.store.thread()) return { created: false, state: null };
      return { created: true, state: this.calls.state(await this.calls.setUp(this.insert(ref, network, importPolicy))) };
    });
  }

  state(access: ThreadAccess): Promise<RpcResult<ThreadState>> {
    return rpc(async () => ({ ...this.calls.state(await this.calls.workspace(this.thread(access))), processes: this.processes.forState() }));
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
   * The runtime for a call the worker makes straight to it (file bodies stay off RPC), moving the thread first if
   * its runtime does not answer. `replayable`: see RuntimeHealth.verdict.
   */
  route(access: ThreadAccess, replayable: boolean, createAs?: ThreadRef): Promise<RpcResult<{ thread: ThreadRow; url: string }>> {
    return rpc(() => (this.thread(access, createAs), this.placement.route(replayable)));
  }

  /** The worker's call to `url` failed as an unreachable runtime's would. */
  runtimeFailed(url: string): Promise<RpcResult<null>> {
    return rpc(() => (this.placement.failed(url), null));
  }

  context(access: ThreadAccess, op: ContextOp, createAs?: ThreadRef): Promise<RpcResult<{ status: number; body: string }>> {
    return rpc(() => this.calls.context(this.thread(access, createAs), op));
  }

  /** Background processes (a start by an API key on an unknown id creates the thread); the idle alarm then watches them. */
  process(access: ThreadAccess, op: ProcessOp, createAs?: ThreadRef): Promise<RpcResult<{ status: number; body: string }>> {
    return rpc(async () => {
      const answer = await this.processes.call(this.thread(access, op.op === "start" ? createAs : undefined), op);
      if (op.op === "start") await this.ctx.storage.setAlarm(Date.now() + this.config.idleTimeoutMs);
      return answer;
    });
  }

  /**
   * Queues an execution; answers in the client's format (JSON once it has ended, or its events as they come). With
   * `createAs`, an unknown thread is created first, except for a cell: it needs a context, so a thread that exists.
   */
  submit(access: ThreadAccess, req: ExecuteRequest, format: StreamFormat, createAs?: ThreadRef): Promise<RpcResult<Answer>> {
    return rpc(() => answer(this.executor.submit(this.thread(access, req.kind === "cell" ? undefined : createAs), req), format));
  }

  /** Stored events after `after`, then live ones until the end. */
  events(access: ThreadAccess, executionId: string, after: number, format: StreamFormat): Promise<RpcResult<Answer>> {
    return rpc(() => {
      this.thread(access);
      const finished = !["queued", "running"].includes(this.record(executionId).status);
      return eventLog(executionId, this.live.follow(executionId, this.store.eventsAfter(executionId, after), finished, after), format);
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
      await this.placement.call({ method: "DELETE", path: runtimePaths.thread(rowRef(thread)) }, false);
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      // deleteAll drops the SQL tables too; this instance may serve the same id again (a 404, or a new thread).
      this.store.init();
      this.processes.store.init();
      return { deleted: true as const };
    });
  }

  /**
   * Idle: tell the runtime to release what it holds for this thread (there only: no failover). Never keeps anything
   * busy; a thread with a background process running is not released (see ThreadProcesses.keepPlacement).
   */
  override async alarm(): Promise<void> {
    const thread = this.store.thread();
    if (!thread || this.executor.busy) return;
    // A running background process keeps the thread placed: look again after another idle period.
    if (await this.processes.keepPlacement(thread)) return void (await this.ctx.storage.setAlarm(Date.now() + this.config.idleTimeoutMs));
    await this.runtime
      .call(thread.runtime_url, { method: "POST", path: runtimePaths.release(rowRef(thread)) })
      .catch((err: unknown) => console.warn(JSON.stringify({ level: "warn", msg: "idle release failed", error: String(err) })));
  }

  /**
   * The thread `access` reaches. `createAs` (the worker passes it for an API key's execution, file write or new
   * context): a thread that does not exist yet is created now with default settings, so an agent can name a thread
   * after its chat and just use it. Synchronous from the read to the insert, so calls that arrive together create it
   * once; a token never creates (it names an existing incarnation by construction).
   */
  private thread(access: ThreadAccess, createAs?: ThreadRef): ThreadRow {
    const row = this.store.thread();
    if (!row && access === null && createAs) return this.insert(createAs, "default");
    return accessThread(row, access);
  }

  /** A new thread's row: a fresh incarnation, placed on the best runtime that answers (its workspace comes lazily). */
  private insert(ref: ThreadRef, network: NetworkMode, importPolicy?: ImportPolicy): ThreadRow {
    const now = new Date().toISOString();
    const runtime_url = this.placement.initial(ref);
    // The tenant's policy (IMPORT_POLICY) with the thread's own, fixed now: a thread keeps what it was created with.
    const import_policy = combineImportPolicies(tenantImportPolicy(this.config.importPolicies, ref.tenant), importPolicy) ?? null;
    const row = { id: ref.thread, tenant: ref.tenant, created_at: now, last_active_at: now, runtime_url, placed_at: now, network, import_policy };
    this.store.createThread({ ...row, incarnation: newIncarnation(), token_generation: 0 });
    return this.thread(null);
  }

  private record(executionId: string): ExecutionRecord {
    const record = this.store.execution(executionId);
    if (!record) throw new AppError(ErrorCode.EXECUTION_NOT_FOUND, `no execution ${executionId} in this thread`);
    return record;
  }
}
