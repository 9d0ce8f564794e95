import { describe, expect, it } from "vitest";
import { encodeNdjson, NdjsonParser, parseNdjsonStream } from "../../shared/src/ndjson.ts";

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const value of parseNdjsonStream(stream)) out.push(value);
  return out;
}

describe("encodeNdjson", () => {
  it("writes one JSON line, escaping newlines inside strings", () => {
    expect(encodeNdjson({ a: "x\ny" })).toBe('{"a":"x\\ny"}\n');
    expect(encodeNdjson(null)).toBe("null\n");
  });

  it("refuses undefined rather than writing a line that is not JSON", () => {
    expect(() => encodeNdjson(undefined)).toThrow(/undefined/);
  });
});

describe("NdjsonParser", () => {
  it("buffers partial lines across pushes", () => {
    const parser = new NdjsonParser();
    expect(parser.push('{"a":')).toEqual([]);
    expect(parser.push('1}\n{"b"')).toEqual([{ a: 1 }]);
    expect(parser.push(":2}\n3\n")).toEqual([{ b: 2 }, 3]);
    expect(parser.flush()).toEqual([]);
  });

  it("ignores blank lines, tolerates CRLF and keeps null values", () => {
    expect(new NdjsonParser().push('\n  \n1\r\nnull\n\r\n"s"\n')).toEqual([1, null, "s"]);
  });

  it("flushes a final line without a newline", () => {
    const parser = new NdjsonParser();
    expect(parser.push("1\n2")).toEqual([1]);
    expect(parser.flush()).toEqual([2]);
  });

  it("throws a clear error naming the line of invalid JSON", () => {
    const parser = new NdjsonParser();
    expect(parser.push("1\n")).toEqual([1]);
    expect(() => parser.push("\n{oops}\n")).toThrow(/Invalid NDJSON on line 3.*\{oops\}/);
  });
});

describe("parseNdjsonStream", () => {
  const values = [{ msg: "caf\u00e9" }, { emoji: "\uD83D\uDE00" }, [1, 2], "end"];
  const bytes = new TextEncoder().encode(values.map((v) => encodeNdjson(v)).join("").trimEnd());

  it("yields identical values when split at every byte offset, including the unterminated last line", async () => {
    expect(bytes.some((b) => b >= 0xf0)).toBe(true);
    for (let i = 0; i <= bytes.length; i++) {
      expect(await collect(streamOf([bytes.slice(0, i), bytes.slice(i)])), `split at byte ${i}`).toEqual(values);
    }
  });

  it("rejects on an invalid line and releases the reader lock", async () => {
    const stream = streamOf([new TextEncoder().encode("1\nnot json\n")]);
    await expect(collect(stream)).rejects.toThrow(/Invalid NDJSON on line 2/);
    expect(stream.locked).toBe(false);
  });
});
