/**
 * Collects stdout and stderr under one byte budget (the cap counts both streams together) and decodes them as
 * UTF-8 incrementally, so a character split across chunks survives and invalid bytes become U+FFFD.
 */
export type StreamName = "stdout" | "stderr";

export class OutputCollector {
  private remaining: number;
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  readonly text = { stdout: "", stderr: "" };
  truncated = false;

  constructor(
    maxBytes: number,
    private readonly onText: (stream: StreamName, text: string) => void,
  ) {
    this.remaining = maxBytes;
  }

  /** Returns false once the budget is exhausted (the caller stops the run). */
  push(stream: StreamName, chunk: Uint8Array): boolean {
    if (this.truncated) return false;
    let bytes = chunk;
    if (bytes.byteLength > this.remaining) {
      bytes = bytes.subarray(0, this.remaining);
      this.truncated = true;
    }
    this.remaining -= bytes.byteLength;
    this.emit(stream, this.decoders[stream].decode(bytes, { stream: true }));
    return !this.truncated;
  }

  /** Flushes partial characters at the end of the run. */
  finish(): void {
    for (const stream of ["stdout", "stderr"] as const) this.emit(stream, this.decoders[stream].decode());
  }

  private emit(stream: StreamName, text: string): void {
    if (text === "") return;
    this.text[stream] += text;
    this.onText(stream, text);
  }
}
