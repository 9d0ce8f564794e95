/** What a progress notification carries (MCP `notifications/progress`, less the client's token). */
export interface ProgressUpdate {
  progress: number;
  message: string;
}

export interface ProgressLimits {
  /** At most one notification this often: output arriving faster is gathered into the next one. */
  intervalMs: number;
  /** A notification's message keeps the last this many characters of what arrived since the one before. */
  maxChars: number;
  /** Then no more for this call: the result has the whole output anyway. */
  maxNotifications: number;
}

export const PROGRESS_LIMITS: ProgressLimits = { intervalMs: 250, maxChars: 2_000, maxNotifications: 200 };

/**
 * A running execution's output as progress notifications: throttled (one per interval, the first at once, what is
 * pending sent when the interval ends even if nothing more arrives) and bounded (in size and in count), in order.
 * `progress` is the seq of the newest event included, so it increases with every notification.
 */
export class ProgressReporter {
  private pending = "";
  private omitted = 0;
  private seq = 0;
  private sent = 0;
  private lastAt = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Notifications go out one after another; the last is awaited before the result goes. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (update: ProgressUpdate) => Promise<void>,
    private readonly limits: ProgressLimits = PROGRESS_LIMITS,
  ) {}

  add(text: string, seq: number): void {
    if (this.closed || this.sent >= this.limits.maxNotifications || text === "") return;
    this.pending += text;
    this.seq = seq;
    // Keep what is pending bounded however much arrives within one interval.
    if (this.pending.length > 2 * this.limits.maxChars) this.trim();
    const wait = this.lastAt + this.limits.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  /** No more notifications; resolves once those already made have been handed to the transport. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    await this.queue;
  }

  private trim(): void {
    const cut = this.pending.length - this.limits.maxChars;
    if (cut <= 0) return;
    this.omitted += cut;
    this.pending = this.pending.slice(cut);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.stopTimer();
    if (this.closed || this.pending === "") return;
    this.trim();
    let message = this.omitted > 0 ? `[… ${this.omitted} characters omitted …]\n${this.pending}` : this.pending;
    this.pending = "";
    this.omitted = 0;
    this.sent += 1;
    this.lastAt = Date.now();
    if (this.sent === this.limits.maxNotifications) message += "\n[no further progress for this call: the result has the whole output]";
    const update = { progress: this.seq, message };
    // A client that went away is no reason to stop the run: its result is still recorded.
    this.queue = this.queue.then(() => this.send(update)).catch(() => undefined);
  }
}
