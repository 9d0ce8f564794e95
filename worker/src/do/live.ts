import { type ExecutionEvent, isTerminal } from "../../../shared/src/index.ts";

/**
 * One reader of an execution's events: the stored ones it asked for, then each new one as it is recorded, ending with
 * the terminal event. Made synchronously by LiveEvents.follow, so nothing recorded in between is missed.
 */
class Follower implements AsyncIterableIterator<ExecutionEvent> {
  private readonly queue: ExecutionEvent[] = [];
  private wake: (() => void) | null = null;
  private done = false;

  constructor(
    public lastSeq: number,
    private readonly leave: (f: Follower) => void,
  ) {}

  push(event: ExecutionEvent): void {
    if (this.done || event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    this.queue.push(event);
    this.wake?.();
  }

  /** No more events will come (a finished execution's stored log was all there is). */
  end(): void {
    this.done = true;
    this.wake?.();
  }

  async next(): Promise<IteratorResult<ExecutionEvent>> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        if (isTerminal(event)) this.finish();
        return { value: event, done: false };
      }
      if (this.done) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  async return(): Promise<IteratorResult<ExecutionEvent>> {
    // The reader left; the execution goes on and keeps recording.
    this.finish();
    this.queue.length = 0;
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    this.done = true;
    this.leave(this);
  }
}

/** Live readers of a thread's executions; the executor publishes every event it records. */
export class LiveEvents {
  private readonly followers = new Map<string, Set<Follower>>();

  /** The stored events (those after `after`), then live ones until the terminal event. */
  follow(executionId: string, stored: ExecutionEvent[], finished: boolean, after = -1): AsyncIterableIterator<ExecutionEvent> {
    const follower = new Follower(after, (f) => this.followers.get(executionId)?.delete(f));
    for (const event of stored) follower.push(event);
    if (finished || stored.some(isTerminal)) {
      follower.end();
      return follower;
    }
    const set = this.followers.get(executionId) ?? new Set();
    set.add(follower);
    this.followers.set(executionId, set);
    return follower;
  }

  publish(event: ExecutionEvent): void {
    for (const f of this.followers.get(event.execution_id) ?? []) f.push(event);
    if (isTerminal(event)) this.followers.delete(event.execution_id);
  }
}
