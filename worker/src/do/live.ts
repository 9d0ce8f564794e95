import { type ExecutionEvent, encodeNdjson, isTerminal } from "../../../shared/src/index.ts";

type Subscriber = { controller: ReadableStreamDefaultController<Uint8Array>; lastSeq: number };

/**
 * Live readers of running executions. A reader first gets the stored events after its `seq` (replayed in the same
 * synchronous step that registers it, so nothing falls in between), then every new event as it is recorded.
 * The DO→worker wire format is NDJSON, one event per line.
 */
export class LiveEvents {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly encoder = new TextEncoder();

  /** `after`: the reader has every event up to this seq (live ones at or below it are not sent again). */
  subscribe(executionId: string, stored: ExecutionEvent[], finished: boolean, after = -1): ReadableStream<Uint8Array> {
    let subscriber: Subscriber | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        let lastSeq = after;
        for (const event of stored) {
          controller.enqueue(this.encoder.encode(encodeNdjson(event)));
          lastSeq = event.seq;
        }
        if (finished || stored.some(isTerminal)) return controller.close();
        subscriber = { controller, lastSeq };
        const set = this.subscribers.get(executionId) ?? new Set();
        set.add(subscriber);
        this.subscribers.set(executionId, set);
      },
      cancel: () => {
        // The reader left; the execution goes on and keeps recording.
        if (subscriber) this.subscribers.get(executionId)?.delete(subscriber);
      },
    });
  }

  publish(event: ExecutionEvent): void {
    const set = this.subscribers.get(event.execution_id);
    if (!set) return;
    const chunk = this.encoder.encode(encodeNdjson(event));
    for (const s of set) {
      if (event.seq <= s.lastSeq) continue;
      s.lastSeq = event.seq;
      try {
        s.controller.enqueue(chunk);
        if (isTerminal(event)) s.controller.close();
      } catch {
        set.delete(s); // a reader whose stream already failed
      }
    }
    if (isTerminal(event)) this.subscribers.delete(event.execution_id);
  }
}
