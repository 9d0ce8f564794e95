import { newTerminalId } from "../../../shared/src/index.ts";
import type { TerminalStore } from "./terminal-store.ts";

/**
 * A thread's terminals, seen from its object. The worker relays each terminal WebSocket (routes/terminal.ts): it
 * reports the open once the runtime accepted the upgrade and the close when either side closes, so both are exact.
 * A close that never arrives (the worker's isolate died with the socket) is caught on the next state read: when the
 * thread's runtime says no terminal is open, every terminal recorded as open before that read began is `lost`.
 */
export class ThreadTerminals {
  constructor(readonly store: TerminalStore) {}

  opened(): { id: string; started_at: string } {
    const started_at = new Date().toISOString();
    const id = newTerminalId();
    this.store.open(id, started_at);
    return { id, started_at };
  }

  closed(id: string, code: number | null): void {
    this.store.end(id, "closed", new Date().toISOString(), code);
  }

  /** What the runtime said at a read begun at `since`: `open` terminals there (undefined: it did not say). */
  reconcile(open: number | undefined, since: string): void {
    if (open !== 0) return; // a count cannot say which ones ended; none open says all did
    const now = new Date().toISOString();
    for (const t of this.store.running()) if (t.started_at < since) this.store.end(t.id, "lost", now, null);
  }

  /** The open ones, for the thread's state. */
  forState(): { id: string; started_at: string }[] {
    return this.store.running().map((t) => ({ id: t.id, started_at: t.started_at }));
  }
}
