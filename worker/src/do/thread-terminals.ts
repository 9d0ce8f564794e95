import type { WorkspaceInfo } from "../../../shared/src/index.ts";
import type { ThreadRow } from "./store.ts";
import type { TerminalStore } from "./terminal-store.ts";

type TerminalInfo = Pick<WorkspaceInfo, "terminals" | "terminal_sessions">;

/**
 * A thread's terminals, seen from its object. The worker names each terminal and records its open once the runtime
 * accepted the upgrade (routes/terminal.ts); the socket itself passes through the worker untouched, so its end is
 * learnt from the runtime: the thread's info lists the terminals it was given, open or ended (with when), and every
 * read of the thread's state or history that finds a terminal recorded as open asks it. A terminal the runtime no
 * longer knows (it restarted, the thread moved, or more than 20 ended since the last read) is `lost`.
 */
export class ThreadTerminals {
  constructor(
    readonly store: TerminalStore,
    /** The thread's info from its runtime (null: it did not answer). */
    private readonly info: (thread: ThreadRow) => Promise<TerminalInfo | null>,
  ) {}

  opened(id: string): { id: string; started_at: string } {
    const started_at = new Date().toISOString();
    this.store.open(id, started_at);
    return { id, started_at };
  }

  /** Terminals recorded as open: what the runtime says of them now; nothing to ask when none is. */
  async see(thread: ThreadRow): Promise<void> {
    if (this.store.running().length === 0) return;
    const since = new Date().toISOString();
    this.reconcile(await this.info(thread), since);
  }

  /**
   * What the runtime's info, asked at `since`, says of the open ones (null: it did not answer). Only terminals
   * recorded before `since` can be missing from it for a reason.
   */
  reconcile(info: TerminalInfo | null, since: string): void {
    if (!info) return;
    const reports = new Map((info.terminal_sessions ?? []).map((t) => [t.id, t]));
    const now = new Date().toISOString();
    for (const t of this.store.running()) {
      const seen = reports.get(t.id);
      if (seen?.ended_at) this.store.end(t.id, "closed", seen.ended_at);
      else if (seen || t.started_at >= since) continue;
      // A runtime without terminal_sessions says only how many are open: none open means all ended.
      else if (info.terminal_sessions !== undefined || info.terminals === 0) this.store.end(t.id, "lost", now);
    }
  }

  /** The open ones, for the thread's state. */
  forState(): { id: string; started_at: string }[] {
    return this.store.running().map((t) => ({ id: t.id, started_at: t.started_at }));
  }
}
