import type { MiddlewareHandler } from "hono";
import { STREAMED_BODY_SHA256 } from "../../../shared/src/index.ts";
import { isStreamedPath } from "../ports/proxy-path.ts";
import { readSignedBody } from "./signed-body.ts";
import { SignatureCheck } from "./signature-check.ts";

/**
 * Every request must carry the worker's HMAC signature (see shared/src/hmac.ts and signature-check.ts). The
 * signature covers the body through a signed digest header, so it is checked before any body is read: an unsigned or
 * forged request is refused at once, whatever it is sending. Then the body is read (at most `maxBodyBytes`) and
 * hashed as it streams in; one whose digest differs is refused, and the accepted body stays cached for the handlers.
 * The one exception: a preview URL's proxied request, signed with STREAMED_BODY_SHA256, streams through unread.
 */
export function hmacAuth(
  secret: string,
  opts: { maxBodyBytes: number; maxNonces?: number; runtimeId?: string; check?: SignatureCheck },
): MiddlewareHandler {
  const signatures = opts.check ?? new SignatureCheck(secret, opts);
  return async (c, next) => {
    const url = new URL(c.req.url);
    const target = url.pathname + url.search;
    const result = await signatures.check(c.req.method, target, (name) => c.req.header(name));
    if (result.contentSha256 === STREAMED_BODY_SHA256 && isStreamedPath(url.pathname)) return next();
    const body = await readSignedBody(c.req.raw, { maxBytes: opts.maxBodyBytes, sha256: result.contentSha256 });
    // Handlers read the body through c.req (text, json, arrayBuffer), which serve it from this cache (a promise at
    // run time, whatever Hono's declared type says).
    (c.req.bodyCache as { arrayBuffer?: Promise<ArrayBuffer> }).arrayBuffer = Promise.resolve(body);
    await next();
  };
}
