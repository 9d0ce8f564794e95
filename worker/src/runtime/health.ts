/** A runtime marked down is left alone for 1 s, doubling with each further failure, at most a minute. */
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 60_000;

/**
 * A runtime that answered this recently takes calls with side effects without a probe first. A probe cannot close
 * the window anyway (the runtime may die right after answering it); this bounds it, and spares a busy thread one
 * round trip per execution.
 */
export const FRESH_MS = 2_000;

type Entry = { state: "up"; at: number } | { state: "suspect" } | { state: "down"; failures: number; retryAt: number };

/** What to do with a runtime before sending it a call. */
export type Verdict = "use" | "probe" | "skip";

export interface RuntimeStatus {
  url: string;
  state: "unknown" | Entry["state"];
  /** For a runtime that is down: when it may be tried again (ms since the epoch). */
  retry_at?: number;
}

/**
 * What the worker has learned about its runtimes: from calls that failed (transport errors, RUNTIME_UNAVAILABLE) and
 * from `GET /health` probes. A failed call makes a runtime *suspect* (probe it before the next use: the failure may
 * have been the connection, not the runtime); a failed probe marks it *down* with exponential backoff; any answer
 * marks it up again. Plain data only, no I/O: the caller probes and reports.
 */
export class RuntimeHealth {
  private readonly entries = new Map<string, Entry>();
  private changeCount = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Counts changes of any runtime's state (up, suspect, down): a view derived from probes can tell it is behind. */
  get changes(): number {
    return this.changeCount;
  }

  private set(url: string, entry: Entry): void {
    if (this.entries.get(url)?.state !== entry.state) this.changeCount++;
    this.entries.set(url, entry);
  }

  /**
   * `replayable`: the call may be sent again if it fails (it has no side effects to duplicate). Any other call goes
   * only to a runtime that has just answered a probe, because a call that fails after it was sent may have run, and
   * workerd reports a refused connection and one reset mid-request as the same "Network connection lost".
   */
  verdict(url: string, replayable: boolean): Verdict {
    const e = this.entries.get(url);
    if (e?.state === "down") return this.now() < e.retryAt ? "skip" : "probe";
    if (e?.state === "suspect") return "probe";
    if (replayable) return "use";
    return e?.state === "up" && this.now() - e.at < FRESH_MS ? "use" : "probe";
  }

  /** The runtime answered (a probe, or any call). */
  up(url: string): void {
    this.set(url, { state: "up", at: this.now() });
  }

  /** A call failed: the next use probes first. A runtime already down keeps its backoff. */
  suspect(url: string): void {
    if (this.entries.get(url)?.state !== "down") this.set(url, { state: "suspect" });
  }

  down(url: string): void {
    const e = this.entries.get(url);
    const failures = e?.state === "down" ? e.failures + 1 : 1;
    const wait = Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
    this.set(url, { state: "down", failures, retryAt: this.now() + wait });
  }

  /** Records a probe's outcome; returns it. */
  record(url: string, ok: boolean): boolean {
    if (ok) this.up(url);
    else this.down(url);
    return ok;
  }

  status(url: string): RuntimeStatus {
    const e = this.entries.get(url);
    if (!e) return { url, state: "unknown" };
    return e.state === "down" ? { url, state: "down", retry_at: e.retryAt } : { url, state: e.state };
  }
}

/**
 * The isolate's view, shared by every thread Durable Object it hosts (do/placement.ts says why it lives here) and
 * read by the health route to notice that calls found a runtime changed (runtime/fleet-health.ts).
 */
export const isolateHealth = new RuntimeHealth();
