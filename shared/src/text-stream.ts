/**
 * Decodes a byte stream to text chunks. `stream: true` holds back a multi-byte character split across chunks until
 * its last byte arrives; the final flush emits what is left. The reader lock is released however iteration ends.
 */
export async function* decodeTextStream(
  stream: ReadableStream<Uint8Array>,
  opts: { ignoreBOM?: boolean } = {},
): AsyncGenerator<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder("utf-8", { ignoreBOM: opts.ignoreBOM ?? false });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield decoder.decode(value, { stream: true });
    }
    yield decoder.decode();
  } finally {
    reader.releaseLock();
  }
}
