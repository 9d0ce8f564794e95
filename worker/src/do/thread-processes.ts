import {
  AppError,
  ErrorCode,
  type ProcessInfo,
  type ProcessStdin,
  type ProcessWait,
  type ProcessWaitResult,
  type StartProcess,
  runtimePaths,
} from "../../../shared/src/index.ts";
import type { RuntimeClient } from "../runtime/client.ts";
import type { ThreadPlacement } from "./placement.ts";
import type { ProcessStore } from "./process-store.ts";
import { type ThreadRow, rowRef } from "./store.ts";

/** A background process call (routes/processes.ts): start or list (no id), get, stop, stdin or wait (an id). */
export type ProcessOp =
  | { op: "start"; body: StartProcess }
  | { op: "list" }
  | { op: "get" | "stop"; id: string }
  | { op: "stdin"; id: string; body: ProcessStdin }
  | { op: "wait"; id: string; body: ProcessWait };

/** How many processes the thread's state lists (running ones first by start, then the latest ended). */
const IN_STATE = 20;

/**
 * A thread's background processes, seen from its object: each call goes to the thread's runtime, and what it answers
 * is recorded (starts, ends, exit codes). A process the runtime no longer knows is `lost` (it restarted), never
 * running. The runtime holds the processes; this keeps their history and keeps the thread placed while one runs.
 */
export class ThreadProcesses {
  constructor(
    readonly store: ProcessStore,
    private readonly placement: ThreadPlacement,
    private readonly client: RuntimeClient,
  ) {}

  async call(thread: ThreadRow, op: ProcessOp): Promise<{ status: number; body: string }> {
    const path = (suffix = "") => `${runtimePaths.processes(rowRef(thread), "id" in op ? op.id : "")}${suffix}`;
    const send = async <T>(method: string, p: string, body?: object): Promise<T> => {
      const { res } = await this.placement.call({ method, path: p, ...(body ? { body: JSON.stringify(body) } : {}) }, method === "GET");
      return res.json<T>();
    };
    const reply = (status: number, value: unknown) => ({ status, body: JSON.stringify(value) });
    switch (op.op) {
      case "start": {
        const info = await send<ProcessInfo>("POST", path(), op.body);
        this.store.put(info);
        return reply(201, info);
      }
      case "list":
        await this.refresh(thread).catch(() => undefined); // the history answers even while no runtime does
        return reply(200, { processes: this.store.list() });
      case "get":
        return reply(200, await this.known(op.id, () => send<ProcessInfo>("GET", path())));
      case "stop":
        return reply(200, await this.known(op.id, () => send<ProcessInfo>("DELETE", path())));
      case "stdin":
        return reply(200, await send("POST", path("/stdin"), op.body));
      case "wait": {
        const result = await send<ProcessWaitResult>("POST", path("/wait"), op.body);
        this.store.put(result.process);
        return reply(200, result);
      }
    }
  }

  /** The processes the thread's state lists. */
  forState(): ProcessInfo[] {
    return this.store.list(IN_STATE);
  }

  /**
   * Whether the thread must stay placed (its idle release waits): a process of it still runs on its runtime. Asks
   * that runtime only (no failover: a release goes there alone); when it does not answer, the answer is yes.
   */
  async keepPlacement(thread: ThreadRow): Promise<boolean> {
    if (this.store.running().length === 0) return false;
    try {
      const res = await this.client.call(thread.runtime_url, { method: "GET", path: runtimePaths.processes(rowRef(thread)) });
      this.reconcile((await res.json<{ processes: ProcessInfo[] }>()).processes);
    } catch {
      return true;
    }
    return this.store.running().length > 0;
  }

  /** The runtime's view of the running processes, recorded (nothing to ask when none runs). */
  async refresh(thread: ThreadRow): Promise<void> {
    if (this.store.running().length === 0) return;
    const { res } = await this.placement.call({ method: "GET", path: runtimePaths.processes(rowRef(thread)) }, true);
    this.reconcile((await res.json<{ processes: ProcessInfo[] }>()).processes);
  }

  private reconcile(live: ProcessInfo[]): void {
    const byId = new Map(live.map((p) => [p.id, p]));
    const now = new Date().toISOString();
    for (const p of this.store.running()) {
      const seen = byId.get(p.id);
      if (seen) this.store.put(seen);
      else this.store.lose(p.id, now);
    }
  }

  /** One process as the runtime reports it; one it no longer knows is answered from the history (lost if it ran). */
  private async known(id: string, ask: () => Promise<ProcessInfo>): Promise<ProcessInfo> {
    try {
      const info = await ask();
      this.store.put(info);
      return info;
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== ErrorCode.PROCESS_NOT_FOUND) throw err;
      this.store.lose(id, new Date().toISOString());
      const stored = this.store.get(id);
      if (!stored) throw err;
      return stored;
    }
  }
}
