import {
  type CheckpointList,
  type ThreadState,
  type WorkspaceInfo,
  runtimePaths,
} from "../../../shared/src/index.ts";
import { type ThreadPlacement, setupCall } from "./placement.ts";
import { type ThreadRow, type ThreadStore, rowRef } from "./store.ts";

/** A context management call: list or create (no id), get, restart (`action`) or delete one (an id). */
export type ContextOp = { method: "GET" | "POST" | "DELETE"; id?: string; action?: "restart"; body?: object };

/**
 * The small runtime calls a thread's object makes itself, so each public route is one RPC from the worker: the
 * workspace's set-up and state, and context management. (File bodies go worker → runtime directly.)
 */
export class ThreadCalls {
  constructor(
    private readonly store: ThreadStore,
    private readonly placement: ThreadPlacement,
    /** RUNTIME_URL: the state names the thread's runtime by its position there, never by address. */
    private readonly urls: readonly string[],
  ) {}

  /**
   * The workspace set up at once (with the thread's settings), so the first execution starts warm; null while no
   * runtime can do it (the first execution then sets it up). Set-up is idempotent, so it may be sent again elsewhere.
   */
  async setUp(thread: ThreadRow): Promise<WorkspaceInfo | null> {
    return this.json<WorkspaceInfo>(setupCall(thread), true).catch(() => null);
  }

  /** The workspace as the runtime reports it; null while no runtime can say. */
  async workspace(thread: ThreadRow): Promise<WorkspaceInfo | null> {
    return this.json<WorkspaceInfo>({ method: "GET", path: runtimePaths.thread(rowRef(thread)) }, true).catch(() => null);
  }

  /** The thread's state; read the workspace first (reading it may move the thread: the state shows where it is now). */
  state(workspace: WorkspaceInfo | null): ThreadState {
    const t = this.store.thread() as ThreadRow;
    const index = this.urls.indexOf(t.runtime_url);
    const runtime = { index: index < 0 ? null : index, placed_at: t.placed_at };
    const policy = t.import_policy ? { import_policy: t.import_policy } : {};
    const mounts = t.mounts?.length ? { mounts: t.mounts } : {};
    // A network policy is shown with its secrets' hosts and headers (the row holds no values in the clear).
    const network = typeof t.network === "object" ? { network: t.network } : {};
    return { id: t.id, created_at: t.created_at, last_active_at: t.last_active_at, runtime, workspace, ...policy, ...mounts, ...network, counts: this.store.counts() };
  }

  /** Context management on the thread's runtime: its JSON answer (as text) and status pass through. */
  async context(thread: ThreadRow, op: ContextOp): Promise<{ status: number; body: string }> {
    const path = `${runtimePaths.contexts(rowRef(thread), op.id)}${op.action ? `/${op.action}` : ""}`;
    const body = op.body === undefined ? undefined : JSON.stringify(op.body);
    // Reads may go to another runtime after a failure; a create, restart or delete is sent once.
    const { res } = await this.placement.call({ method: op.method, path, body }, op.method === "GET");
    return { status: res.status, body: await res.text() };
  }

  /** The thread's checkpoints (GET), or one deleted (DELETE with its id). Taking and restoring one are executions. */
  async checkpoints(thread: ThreadRow, deleteId?: string): Promise<CheckpointList | { id: string; deleted: true }> {
    const path = runtimePaths.checkpoints(rowRef(thread), deleteId);
    return this.json(deleteId === undefined ? { method: "GET", path } : { method: "DELETE", path }, deleteId === undefined);
  }

  /** A new thread's workspace made from `checkpoint` of `fromThread` (same tenant: the path names this thread's). */
  async fork(thread: ThreadRow, fromThread: string, checkpoint: string): Promise<void> {
    const body = JSON.stringify({ from_thread: fromThread, checkpoint });
    await this.json({ method: "POST", path: runtimePaths.fork(rowRef(thread)), body }, false);
  }

  private async json<T>(req: Parameters<ThreadPlacement["call"]>[0], replayable: boolean): Promise<T> {
    const { res } = await this.placement.call(req, replayable);
    return res.json<T>();
  }
}
