import { DurableObject } from "cloudflare:workers";
import {
  AppError,
  type Checkpoint,
  type CheckpointList,
  ErrorCode,
  type ForkFrom,
  type ExecutionRecord,
  type ImportPolicy,
  type NetworkSetting,
  type ThreadMount,
  type StreamFormat,
  type ThreadRef,
  type ThreadState,
  newExecutionId,
  policyView,
  runtimePaths,
  sealSecrets,
  terminalValue,
  threadKey,
} from "../../../shared/src/index.ts";
import { type WorkerConfig, tenantImportPolicy, workerConfig } from "../config.ts";
import { combineImportPolicies } from "../../../shared/src/index.ts";
import { type RuntimeClient, runtimeClient } from "../runtime/client.ts";
import { type ThreadAccess, accessThread } from "./access.ts";
import { type Answer, answer, eventLog } from "./answer.ts";
import { type ExecuteRequest, Executor } from "./executor.ts";
import { LiveEvents } from "./live.ts";
import { ThreadPlacement } from "./placement.ts";
import { type PortGrant, PortGrants } from "./port-grants.ts";
import { type RpcResult, rpc } from "./rpc.ts";
import { type ThreadRow, ThreadStore, newIncarnation, rowRef } from "./store.ts";
import { type ContextOp, ThreadCalls } from "./thread-calls.ts";
import { ProcessStore } from "./process-store.ts";
import { type ProcessOp, ThreadProcesses } from "./thread-processes.ts";
import { ThreadHistory } from "./history.ts";
import { TerminalStore } from "./terminal-store.ts";
import { ThreadTerminals } from "./thread-terminals.ts";

const nowS = () => Math.floor(Date.now() / 1000);

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
  private readonly terminals: ThreadTerminals;
  private readonly history: ThreadHistory;
  private readonly config: WorkerConfig;
  private readonly ports: PortGrants;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = workerConfig(env);
    this.config = config;
    this.store = new ThreadStore(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
    this.ports = new PortGrants(ctx.storage.sql);
    this.runtime = runtimeClient(env);
    this.placement = new ThreadPlacement(this.store, this.runtime, config.runtimeUrls);
    this.calls = new ThreadCalls(this.store, this.placement, config.runtimeUrls);
    this.processes = new ThreadProcesses(new ProcessStore(ctx.storage.sql), this.placement, this.runtime);
    this.terminals = new ThreadTerminals(new TerminalStore(ctx.storage.sql), (thread) => this.calls.workspace(thread));
    this.history = new ThreadHistory(this.store, this.processes, this.terminals);
    this.executor = new Executor(this.store, this.live, this.placement, this.runtime, config.queueMax, () => {
      void ctx.storage.setAlarm(Date.now() + config.idleTimeoutMs);
    });
    ctx.blockConcurrencyWhile(async () => this.executor.recover());
  }

  /** Creates the thread and sets its workspace up; `created: false` when it exists already (nothing changed). */
  create(
    ref: ThreadRef,
    network: NetworkSetting = "default",
    importPolicy?: ImportPolicy,
    mounts: ThreadMount[] = [],
    from?: Required<ForkFrom>,
  ): Promise<RpcResult<{ created: boolean; state: ThreadState | null }>> {
    return rpc(async () => {
      if (this.store.thread()) return { created: false, state: null };
      // A policy's secrets are sealed before anything is stored: the row holds their hosts and headers, never values.
      const secrets = typeof network === "object" ? (network.secrets ?? []) : [];
      const sealed = secrets.length > 0 ? await sealSecrets(this.config.hmacSecret, threadKey(ref), secrets) : null;
      if (this.store.thread()) return { created: false, state: null };
      const view = typeof network === "object" ? policyView(network) : network;
      const row = this.insert(ref, view, importPolicy, mounts, sealed);
      // A fork's workspace comes from the checkpoint before its set-up (which then builds its venv from the manifest);
      // a fork that fails leaves no thread behind.
      if (from) await this.calls.fork(row, from.thread, from.checkpoint).catch(async (err: unknown) => this.forget(err));
      return { created: true, state: this.calls.state(await this.calls.setUp(row)) };
    });
  }

  /**
   * The checkpoint a fork of this thread starts from: the one named (the runtime checks it exists), or one taken now,
   * queued behind what runs like any execution. A thread that does not exist, another tenant's included, is a 404.
   */
  forkSource(access: ThreadAccess, checkpoint?: string): Promise<RpcResult<string>> {
    return rpc(async () => {
      const thread = this.thread(access);
      if (checkpoint) return checkpoint;
      const body = { label: "fork" };
      const req = { kind: "checkpoint" as const, body, summary: "checkpoint: fork", executionId: newExecutionId() };
      const value = (await terminalValue(this.executor.submit(thread, req))) as Checkpoint;
      return value.id;
    });
  }

  /** The thread's checkpoints, or one deleted (its id). */
  checkpoints(access: ThreadAccess, deleteId?: string): Promise<RpcResult<CheckpointList | { id: string; deleted: true }>> {
    return rpc(() => this.calls.checkpoints(this.thread(access), deleteId));
  }

  state(access: ThreadAccess): Promise<RpcResult<ThreadState>> {
    return rpc(async () => {
      const since = new Date().toISOString();
      const workspace = await this.calls.workspace(this.thread(access));
      this.terminals.reconcile(workspace, since);
      const open = this.terminals.forState();
      const state = { ...this.calls.state(workspace), processes: this.processes.forState(), ...(open.length > 0 ? { open_terminals: open } : {}) };
      const grants = this.ports.active(nowS());
      const exposed = grants.map((g) => ({ port: g.port, expires_at: new Date(g.expires_at * 1000).toISOString() }));
      return exposed.length > 0 ? { ...state, exposed_ports: exposed } : state;
    });
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

  /** Exposes a port of the thread's sandbox: the grant its preview URL carries (do/port-grants.ts). */
  exposePort(access: ThreadAccess, port: number, expiresAt: number): Promise<RpcResult<{ incarnation: string; grant: PortGrant }>> {
    return rpc(() => ({ incarnation: this.thread(access).incarnation, grant: this.ports.expose(port, expiresAt, nowS()) }));
  }

  revokePort(access: ThreadAccess, port: number): Promise<RpcResult<{ port: number; revoked: boolean }>> {
    return rpc(() => (this.thread(access), { port, revoked: this.ports.revoke(port) }));
  }

  exposedPorts(access: ThreadAccess): Promise<RpcResult<{ incarnation: string; grants: PortGrant[] }>> {
    return rpc(() => ({ incarnation: this.thread(access).incarnation, grants: this.ports.active(nowS()) }));
  }

  /**
   * A preview URL's request (its capability checked by the worker): the runtime to send it to, while the URL's
   * grant is active in this incarnation of the thread. A revoked, replaced or expired grant is NOT_FOUND.
   */
  previewRoute(incarnation: string, port: number, nonce: string): Promise<RpcResult<{ thread: ThreadRow; url: string }>> {
    return rpc(() => {
      const row = this.store.thread();
      if (!row || row.incarnation !== incarnation || !this.ports.allows(port, nonce, nowS())) {
        throw new AppError(ErrorCode.NOT_FOUND, "this preview URL was revoked or has expired; expose the port again for a new one");
      }
      return this.placement.route(false);
    });
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
    return rpc(() => answer(this.executor.submit(this.thread(access, ["cell", "checkpoint", "restore"].includes(req.kind) ? undefined : createAs), req), format));
  }

  /** Stored events after `after`, then live ones until the end. */
  events(access: ThreadAccess, executionId: string, after: number, format: StreamFormat): Promise<RpcResult<Answer>> {
    return rpc(() => {
      this.thread(access);
      this.history.refuseEvents(executionId);
      const finished = !["queued", "running"].includes(this.record(executionId).status);
      return eventLog(executionId, this.live.follow(executionId, this.store.eventsAfter(executionId, after), finished, after), format);
    });
  }

  /** The history: executions, background processes and terminals (do/history.ts). */
  executions(access: ThreadAccess, limit: number): Promise<RpcResult<ExecutionRecord[]>> {
    return rpc(() => this.history.list(this.thread(access), limit));
  }

  execution(access: ThreadAccess, executionId: string): Promise<RpcResult<ExecutionRecord>> {
    return rpc(() => this.history.get(this.thread(access), executionId));
  }

  /** The runtime accepted the terminal WebSocket the worker named `id`: its record opens (routes/terminal.ts). */
  terminalOpened(access: ThreadAccess, id: string): Promise<RpcResult<{ id: string; started_at: string }>> {
    return rpc(() => (this.thread(access), this.terminals.opened(id)));
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
      this.terminals.store.init();
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
  private insert(ref: ThreadRef, network: ThreadRow["network"], importPolicy?: ImportPolicy, mounts: ThreadMount[] = [], egressSecrets: string | null = null): ThreadRow {
    const now = new Date().toISOString();
    const runtime_url = this.placement.initial(ref);
    // The tenant's policy (IMPORT_POLICY) with the thread's own, fixed now: a thread keeps what it was created with.
    const import_policy = combineImportPolicies(tenantImportPolicy(this.config.importPolicies, ref.tenant), importPolicy) ?? null;
    const row = { id: ref.thread, tenant: ref.tenant, created_at: now, last_active_at: now, runtime_url, placed_at: now, network, import_policy, mounts, egress_secrets: egressSecrets };
    this.store.createThread({ ...row, incarnation: newIncarnation(), token_generation: 0 });
    return this.thread(null);
  }

  /** Drops the row just inserted (a fork that failed) and rethrows why. */
  private async forget(err: unknown): Promise<never> {
    await this.ctx.storage.deleteAll();
    this.store.init();
    throw err;
  }

  private record(executionId: string): ExecutionRecord {
    const record = this.store.execution(executionId);
    if (!record) throw new AppError(ErrorCode.EXECUTION_NOT_FOUND, `no execution ${executionId} in this thread`);
    return record;
  }
}
