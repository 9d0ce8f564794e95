import type { ExecutionEvent } from "./events.ts";
import { decodeTextStream } from "./text-stream.ts";

/**
 * Server-Sent Events, written and read by both the worker and the runtime, so only Web-standard APIs.
 * Parsing follows the WHATWG "event stream interpretation" rules.
 */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

const LINE_BREAK = /\r\n|\r|\n/;

function assertSingleLine(field: string, value: string): void {
  // A line break would end the field early and let the rest inject fields or messages.
  if (/[\r\n]/.test(value)) throw new Error(`SSE ${field} must not contain CR or LF`);
}

export function encodeSse(msg: SseMessage): string {
  let out = "";
  if (msg.id !== undefined) {
    assertSingleLine("id", msg.id);
    // Parsers ignore an id containing NUL, which would silently break resumption.
    if (msg.id.includes("\0")) throw new Error("SSE id must not contain NUL");
    out += `id: ${msg.id}\n`;
  }
  if (msg.event !== undefined) {
    assertSingleLine("event", msg.event);
    out += `event: ${msg.event}\n`;
  }
  // Splitting on CR too keeps a stray CR from ending a line; the parser reads it back as LF.
  for (const line of msg.data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return `${out}\n`;
}

export function encodeSseEvent(event: ExecutionEvent): string {
  return encodeSse({ id: String(event.seq), event: event.type, data: JSON.stringify(event) });
}

/** A comment line; clients ignore it, proxies see traffic, so it serves as a heartbeat. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]/g, "")}\n\n`;
}

/**
 * Incremental parser: feed decoded text in any chunking, get complete messages back. Linear in the input: each chunk
 * is scanned once, an unfinished line kept in pieces (a `data:` line of a big result may be megabytes long).
 */
export class SseParser {
  #pending: string[] = [];
  #started = false;
  /** The previous chunk ended in CR, so a LF opening this chunk belongs to that line break. */
  #skipLeadingLf = false;
  #data: string[] = [];
  #event: string | undefined;
  #id: string | undefined;
  #lastEventId = "";

  /** The last id seen, kept across messages as EventSource does; send it back as Last-Event-ID. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (this.#skipLeadingLf && text.length > 0) {
      if (text.startsWith("\n")) text = text.slice(1);
      this.#skipLeadingLf = false;
    }
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.startsWith("\uFEFF")) text = text.slice(1);
    }

    const messages: SseMessage[] = [];
    let start = 0;
    const breaks = /\r\n|\r|\n/g;
    for (let m = breaks.exec(text); m !== null; m = breaks.exec(text)) {
      // A CR at the very end may be half of a CRLF split across chunks: end the line now, drop the LF later.
      if (m[0] === "\r" && m.index === text.length - 1) this.#skipLeadingLf = true;
      const message = this.#line(this.#take(text.slice(start, m.index)));
      if (message) messages.push(message);
      start = m.index + m[0].length;
    }
    if (start < text.length) this.#pending.push(text.slice(start));
    return messages;
  }

  /** The line ending with `last`: what was pending before it (never holding a line break), and it. */
  #take(last: string): string {
    if (this.#pending.length === 0) return last;
    this.#pending.push(last);
    const line = this.#pending.join("");
    this.#pending = [];
    return line;
  }

  #line(line: string): SseMessage | undefined {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
    else if (field === "id" && !value.includes("\0")) this.#id = this.#lastEventId = value;
    // `retry` and unknown fields are ignored: reconnection is the caller's business.
    return undefined;
  }

  #dispatch(): SseMessage | undefined {
    const [data, event, id] = [this.#data, this.#event, this.#id];
    this.#data = [];
    this.#event = undefined;
    this.#id = undefined;
    if (data.length === 0) return undefined;
    const message: SseMessage = { data: data.join("\n") };
    if (id !== undefined) message.id = id;
    if (event !== undefined) message.event = event;
    return message;
  }
}

/** Yields messages from a byte stream; a message cut off by the end of the stream is dropped, per spec. */
export async function* parseSseStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const parser = new SseParser();
  // The parser strips the BOM itself; letting the decoder strip it too would eat a second one.
  for await (const text of decodeTextStream(stream, { ignoreBOM: true })) yield* parser.push(text);
}
