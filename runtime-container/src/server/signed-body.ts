import { createHash } from "node:crypto";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";

/**
 * Reads a request body whose SHA-256 was signed, hashing it chunk by chunk as it arrives: over `maxBytes` (declared
 * or counted) is 413 at once, a digest other than the signed one is 401. Only a body that matches is returned.
 * The caller has already checked the signature, so only the worker's own requests get this far.
 */
export async function readSignedBody(req: Request, opts: { maxBytes: number; sha256: string }): Promise<ArrayBuffer> {
  const tooLarge = () => new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `request body exceeds ${opts.maxBytes} bytes`);
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > opts.maxBytes) throw tooLarge();

  const hash = createHash("sha256");
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    const reader = req.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > opts.maxBytes) throw tooLarge();
        hash.update(value);
        chunks.push(value);
      }
    } finally {
      // Stops reading (and buffering) what is left of a refused body.
      reader.cancel().catch(() => undefined);
    }
  }
  if (hash.digest("hex") !== opts.sha256) {
    throw new AppError(ErrorCode.UNAUTHORIZED, "request signature mismatch: the body is not the one signed");
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body.buffer;
}
