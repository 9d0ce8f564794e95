import type { MiddlewareHandler } from "hono";
import { AppError, ErrorCode, SIGNATURE_WINDOW_SECONDS, runtimePaths, verifyRequest } from "../../../shared/src/index.ts";
import { readSignedBody } from "./signed-body.ts";
import { ReplayCache } from "./replay-cache.ts";

/** Signed requests accepted within one window (5 minutes) before new ones wait: ~330 a second, ~10 MB. */
const DEFAULT_MAX_NONCES = 100_000;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Reads with no effect to replay: a captured copy sent again learns nothing new and changes nothing, so they are
 * signed and time-windowed like every call but claim no nonce (the worker probes health often; each probe holding a
 * replay-cache slot for 5 minutes would let probes crowd out real calls).
 */
const NONCE_FREE = new Set([`GET ${runtimePaths.health()}`]);

/**
 * Every request must carry the worker's HMAC signature (see shared/src/hmac.ts) with a nonce this runtime has not
 * accepted before and, when RUNTIME_ID is set, be signed for this runtime. The signature covers the body through a
 * signed digest header, so it is checked before any body is read: an unsigned or forged request is refused at once,
 * whatever it is sending. Then the body is read (at most `maxBodyBytes`) and hashed as it streams in; one whose
 * digest differs is refused, and the accepted body stays cached for the handlers.
 */
export function hmacAuth(secret: string, opts: { maxBodyBytes: number; maxNonces?: number; runtimeId?: string }): MiddlewareHandler {
  const seen = new ReplayCache({
    maxEntries: opts.maxNonces ?? DEFAULT_MAX_NONCES,
    windowSeconds: SIGNATURE_WINDOW_SECONDS,
    startedAt: nowSeconds(),
  });
  return async (c, next) => {
    const url = new URL(c.req.url);
    const target = url.pathname + url.search;
    const now = nowSeconds();
    const result = await verifyRequest(secret, { method: c.req.method, path: target, header: (name) => c.req.header(name), now });
    if (!result.ok) throw new AppError(ErrorCode.UNAUTHORIZED, `request signature ${result.reason}`);
    // Checked before the nonce is claimed: a request for another runtime leaves nothing in this one's cache.
    if (opts.runtimeId !== undefined && result.runtime !== opts.runtimeId) {
      throw new AppError(ErrorCode.UNAUTHORIZED, `request signed for runtime "${result.runtime}", this is "${opts.runtimeId}"`);
    }
    if (!NONCE_FREE.has(`${c.req.method} ${target}`)) {
      const claim = seen.claim(result.nonce, result.timestamp, now);
      if (claim === "replayed" || claim === "stale") {
        throw new AppError(ErrorCode.UNAUTHORIZED, `request signature ${claim}: sign every request anew`);
      }
      if (claim === "full") {
        throw new AppError(
          ErrorCode.RUNTIME_UNAVAILABLE,
          `the runtime accepted ${seen.size} signed requests within ${SIGNATURE_WINDOW_SECONDS} s, its replay-protection cap; retry shortly`,
        );
      }
    }
    const body = await readSignedBody(c.req.raw, { maxBytes: opts.maxBodyBytes, sha256: result.contentSha256 });
    // Handlers read the body through c.req (text, json, arrayBuffer), which serve it from this cache (a promise at
    // run time, whatever Hono's declared type says).
    (c.req.bodyCache as { arrayBuffer?: Promise<ArrayBuffer> }).arrayBuffer = Promise.resolve(body);
    await next();
  };
}
