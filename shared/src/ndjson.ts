import { decodeTextStream } from "./text-stream.ts";

/**
 * Newline-delimited JSON, the streaming format for clients that do not speak SSE.
 * Only Web-standard APIs, so the worker and the runtime share it.
 */
export function encodeNdjson(value: unknown): string {
  const json = JSON.stringify(value);
  // JSON.stringify(undefined) is undefined, which would otherwise be written as the text "undefined".
  if (json === undefined) throw new Error("NDJSON cannot encode undefined");
  return `${json}\n`;
}

/**
 * Incremental parser: feed decoded text in any chunking, get one value per complete line. Linear in the input: each
 * chunk is scanned once and an unfinished line is kept in pieces, so a line of megabytes (a big result) arriving in
 * many small chunks costs no more than its length.
 */
export class NdjsonParser {
  #pending: string[] = [];
  #lineNumber = 0;

  push(chunk: string): unknown[] {
    const values: unknown[] = [];
    let start = 0;
    for (let end = chunk.indexOf("\n"); end !== -1; end = chunk.indexOf("\n", start)) {
      const value = this.#line(this.#take(chunk.slice(start, end)));
      if (value.present) values.push(value.value);
      start = end + 1;
    }
    if (start < chunk.length) this.#pending.push(chunk.slice(start));
    return values;
  }

  /** Parses a last line that had no trailing newline; call once the input has ended. */
  flush(): unknown[] {
    const rest = this.#take("");
    const value = this.#line(rest);
    return value.present ? [value.value] : [];
  }

  /** The line ending with `last`: what was pending before it, and it. */
  #take(last: string): string {
    if (this.#pending.length === 0) return last;
    this.#pending.push(last);
    const line = this.#pending.join("");
    this.#pending = [];
    return line;
  }

  // `present` rather than a sentinel, because a line may legitimately hold `null`.
  #line(raw: string): { present: true; value: unknown } | { present: false } {
    this.#lineNumber += 1;
    // Tolerate CRLF producers: JSON whitespace may surround a value, so trimming changes nothing valid.
    const line = raw.trim();
    if (line === "") return { present: false };
    try {
      return { present: true, value: JSON.parse(line) };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const excerpt = line.length > 80 ? `${line.slice(0, 80)}…` : line;
      throw new Error(`Invalid NDJSON on line ${this.#lineNumber}: ${reason} (line: ${excerpt})`);
    }
  }
}

export async function* parseNdjsonStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const parser = new NdjsonParser();
  for await (const text of decodeTextStream(stream)) yield* parser.push(text);
  yield* parser.flush();
}
