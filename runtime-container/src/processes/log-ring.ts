import type { ProcessLogEntry } from "../../../shared/src/index.ts";

type Listener = (entry: ProcessLogEntry | null) => void;

/** Longest text of one entry: a chunk beyond it is split, so one entry never outweighs the whole ring. */
const MAX_ENTRY_CHARS = 16 * 1024;

/**
 * A process's output: numbered entries under a byte budget (stdout and stderr together), the oldest dropped first,
 * and listeners for what comes next. A process that floods its output costs this budget and nothing more.
 */
export class LogRing {
  private readonly entries: ProcessLogEntry[] = [];
  private bytes = 0;
  private nextSeq = 0;
  private readonly listeners = new Set<Listener>();
  private ended = false;
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(private readonly maxBytes: number) {}

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** The seq of the oldest entry still kept (nextSeq when empty). */
  get firstSeq(): number {
    return this.entries[0]?.seq ?? this.nextSeq;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Raw bytes from the process, decoded per stream (a character split across chunks survives). */
  push(stream: "stdout" | "stderr", chunk: Uint8Array): void {
    this.add(stream, this.decoders[stream].decode(chunk, { stream: true }));
  }

  /** The process has ended: flush partial characters and tell every listener. */
  end(): void {
    if (this.ended) return;
    for (const stream of ["stdout", "stderr"] as const) this.add(stream, this.decoders[stream].decode());
    this.ended = true;
    for (const l of this.listeners) l(null);
    this.listeners.clear();
  }

  /** Kept entries with seq > after. */
  after(after: number): ProcessLogEntry[] {
    return this.entries.filter((e) => e.seq > after);
  }

  /** Calls `listener` with each new entry, then with null at the end; returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    if (this.ended) {
      listener(null);
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private add(stream: "stdout" | "stderr", text: string): void {
    for (let i = 0; i < text.length; i += MAX_ENTRY_CHARS) {
      const entry = { seq: this.nextSeq++, stream, text: text.slice(i, i + MAX_ENTRY_CHARS) };
      this.entries.push(entry);
      this.bytes += weight(entry);
      while (this.bytes > this.maxBytes && this.entries.length > 1) this.bytes -= weight(this.entries.shift() as ProcessLogEntry);
      for (const l of this.listeners) l(entry);
    }
  }
}

/** UTF-16 length times 2 bounds the memory an entry holds, whatever its characters. */
const weight = (e: ProcessLogEntry) => e.text.length * 2 + 32;
