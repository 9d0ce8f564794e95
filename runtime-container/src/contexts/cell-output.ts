import type { StreamName } from "../runner/output.ts";

/** The line the kernel prints on stdout and stderr after each cell (see kernel.py). */
export const CELL_END_MARK = "\x1e\x1ethreadbox-cell-end:";

/**
 * One output stream of a context: decodes it, hands a running cell its text live, and sees the cell's end marker
 * (which it strips). Between cells nothing is listening and the text is dropped.
 */
export class CellStream {
  private readonly decoder = new TextDecoder();
  private pending = "";
  private sink: ((text: string) => void) | null = null;
  private cellId = "";
  private ended: (() => void) | null = null;
  text = "";

  constructor(readonly name: StreamName) {}

  /** Starts listening for a cell; resolves once its end marker has come through. */
  begin(cellId: string, sink: (text: string) => void): Promise<void> {
    this.cellId = cellId;
    this.sink = sink;
    this.text = "";
    this.pending = "";
    return new Promise((resolve) => (this.ended = resolve));
  }

  stop(): void {
    this.sink = null;
    this.ended?.();
    this.ended = null;
  }

  /** A line of the runtime's own (why the interpreter was stopped), given to the running cell as it is; false: none runs. */
  note(text: string): boolean {
    if (!this.sink) return false;
    this.deliver(text);
    return true;
  }

  push(chunk: Uint8Array): void {
    if (!this.sink) return;
    this.pending += this.decoder.decode(chunk, { stream: true });
    const mark = `${CELL_END_MARK}${this.cellId}\n`;
    const at = this.pending.indexOf(mark);
    if (at >= 0) {
      this.deliver(this.pending.slice(0, at));
      this.pending = "";
      return this.stop();
    }
    // Hold back what could be the start of the marker, so it is never split into the user's output.
    let keep = 0;
    for (let n = Math.min(mark.length - 1, this.pending.length); n > 0; n--) {
      if (mark.startsWith(this.pending.slice(-n))) {
        keep = n;
        break;
      }
    }
    this.deliver(this.pending.slice(0, this.pending.length - keep));
    this.pending = this.pending.slice(this.pending.length - keep);
  }

  private deliver(text: string): void {
    if (!text || !this.sink) return;
    this.text += text;
    this.sink(text);
  }
}
