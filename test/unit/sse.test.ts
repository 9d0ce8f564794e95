import { describe, expect, it } from "vitest";
import { parseEvent, type ExecutionEvent } from "../../shared/src/events.ts";
import {
  encodeSse,
  encodeSseEvent,
  parseSseStream,
  sseComment,
  SseParser,
  type SseMessage,
} from "../../shared/src/sse.ts";

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const message of parseSseStream(stream)) out.push(message);
  return out;
}

function parseAll(text: string): SseMessage[] {
  return new SseParser().push(text);
}

describe("encodeSse", () => {
  it("writes id, event, one data line per line, then a blank line", () => {
    expect(encodeSse({ id: "7", event: "stdout", data: "a\nb" })).toBe("id: 7\nevent: stdout\ndata: a\ndata: b\n\n");
    expect(encodeSse({ data: "x" })).toBe("data: x\n\n");
  });

  it.each(["a\nb", "a\n\nb", "\n", "a\n", "", " leading space", "data: nested", "é😀"])(
    "round-trips data %j",
    (data) => {
      expect(parseAll(encodeSse({ id: "1", event: "e", data }))).toEqual([{ id: "1", event: "e", data }]);
    },
  );

  it("turns a stray CR in data into a line break instead of a field break", () => {
    const text = encodeSse({ data: "a\rid: evil\r\nb" });
    expect(parseAll(text)).toEqual([{ data: "a\nid: evil\nb" }]);
  });

  it.each([
    { id: "1\n2", data: "" },
    { id: "1\r", data: "" },
    { event: "a\nevent: b", data: "" },
    { event: "a\rb", data: "" },
  ])("rejects a line break in id or event: %j", (msg) => {
    expect(() => encodeSse(msg)).toThrow(/CR or LF/);
  });

  it("encodes an execution event that parses back to the same event", () => {
    const event: ExecutionEvent = { type: "stdout", seq: 3, execution_id: "e1", data: "a\nb" };
    const [message, ...rest] = parseAll(encodeSseEvent(event));
    expect(rest).toEqual([]);
    expect(message?.id).toBe("3");
    expect(message?.event).toBe("stdout");
    expect(parseEvent(JSON.parse(message?.data ?? "null"))).toEqual(event);
  });

  it("writes comments the parser ignores, without line breaks", () => {
    expect(sseComment("ping")).toBe(": ping\n\n");
    expect(sseComment("a\r\nb\nc")).toBe(": abc\n\n");
    expect(parseAll(`${sseComment("x\ndata: injected")}data: real\n\n`)).toEqual([{ data: "real" }]);
  });
});

describe("SseParser", () => {
  it("ignores comments, unknown fields and retry", () => {
    const text = ": hello\nfoo: bar\nretry: 10\ndata: x\n:another\n\n";
    expect(parseAll(text)).toEqual([{ data: "x" }]);
  });

  it("does not dispatch a message without data lines", () => {
    expect(parseAll("event: a\nid: 1\n\n\n\ndata: b\n\n")).toEqual([{ data: "b" }]);
  });

  it("strips only one space after the colon and treats a bare field name as empty", () => {
    expect(parseAll("data:  two\ndata:none\ndata\n\n")).toEqual([{ data: " two\nnone\n" }]);
  });

  it("accepts LF, CRLF and CR line endings", () => {
    expect(parseAll("data: a\r\ndata: b\rdata: c\n\r\n")).toEqual([{ data: "a\nb\nc" }]);
  });

  it("does not count a CRLF split across pushes as two line breaks", () => {
    const parser = new SseParser();
    expect(parser.push("data: a\r")).toEqual([]);
    // An extra empty line here would dispatch "a" alone.
    expect(parser.push("\ndata: b\r")).toEqual([]);
    expect(parser.push("\n\r\n")).toEqual([{ data: "a\nb" }]);
  });

  it("buffers partial lines across pushes", () => {
    const parser = new SseParser();
    expect(parser.push("da")).toEqual([]);
    expect(parser.push("ta: he")).toEqual([]);
    expect(parser.push("llo\n")).toEqual([]);
    expect(parser.push("\n")).toEqual([{ data: "hello" }]);
  });

  it("keeps the last event id across messages but reports ids per message", () => {
    const parser = new SseParser();
    expect(parser.push("id: 5\ndata: a\n\ndata: b\n\nid: 9\n\n")).toEqual([{ id: "5", data: "a" }, { data: "b" }]);
    expect(parser.lastEventId).toBe("9");
  });
});

describe("parseSseStream", () => {
  // CRLF, lone CR, multi-byte characters, a comment, a no-data block and a BOM: every tricky boundary.
  const text =
    "\uFEFFid: 1\r\nevent: stdout\r\ndata: caf\u00e9\r\ndata: \uD83D\uDE00 ok\r\n\r\n" +
    ": keepalive\n\nevent: none\n\n" +
    "id: 2\rdata: line\rdata: \u00e9\u00e9\r\r" +
    "data: last\n\n";
  const bytes = new TextEncoder().encode(text);
  const expected: SseMessage[] = [
    { id: "1", event: "stdout", data: "caf\u00e9\n\uD83D\uDE00 ok" },
    { id: "2", data: "line\n\u00e9\u00e9" },
    { data: "last" },
  ];

  it("parses the whole stream in one chunk", async () => {
    expect(await collect(streamOf([bytes]))).toEqual(expected);
  });

  it("yields identical messages when split at every byte offset", async () => {
    // Prove the fixture really has the boundaries we mean to split inside.
    expect(bytes.indexOf(0x0d)).toBeGreaterThan(0);
    expect(bytes.some((b) => b >= 0xf0)).toBe(true);
    for (let i = 0; i <= bytes.length; i++) {
      const got = await collect(streamOf([bytes.slice(0, i), bytes.slice(i)]));
      expect(got, `split at byte ${i}`).toEqual(expected);
    }
  });

  it("yields identical messages when fed one byte at a time", async () => {
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(await collect(streamOf(chunks))).toEqual(expected);
  });

  it("drops a message the stream cut off before its blank line", async () => {
    const body = new TextEncoder().encode("data: a\n\ndata: unfinished\n");
    expect(await collect(streamOf([body]))).toEqual([{ data: "a" }]);
  });

  it("releases the reader lock at the end and when the consumer stops early", async () => {
    const done = streamOf([new TextEncoder().encode("data: a\n\n")]);
    await collect(done);
    expect(done.locked).toBe(false);

    const early = streamOf([new TextEncoder().encode("data: a\n\ndata: b\n\n")]);
    for await (const message of parseSseStream(early)) {
      expect(message.data).toBe("a");
      break;
    }
    expect(early.locked).toBe(false);
  });
});
