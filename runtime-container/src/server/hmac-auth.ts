import type { MiddlewareHandler } from "hono";
import { AppError, ErrorCode, SIGNATURE_WINDOW_SECONDS, verifyRequest } from "../../../shared/src/index.ts";
import { ReplayCache } from "./replay-cache.ts";

/** Signed requests accepted within one window (5 minutes) before new ones wait: ~330 a second, ~10 MB. */
const DEFAULT_MAX_NONCES = 100_000;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Every request must carry the worker's HMAC signature (see shared/src/hmac.ts) with a nonce this runtime has not
 * accepted before and, when RUNTIME_ID is set, be signed for this runtime. The body is read here (already capped by
 * bodyLimit) and stays cached for the handlers.
 */
export function hmacAuth(secret: string, opts: { maxNonces?: number; runtimeId?: string } = {}): MiddlewareHandler {
  const seen = new ReplayCache({
    maxEntries: opts.maxNonces ?? DEFAULT_MAX_NONCES,
    windowSeconds: SIGNATURE_WINDOW_SECONDS,
    startedAt: nowSeconds(),
  });
  return async (c, next) => {
    const url = new URL(c.req.url);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const now = nowSeconds();
    const result = await verifyRequest(secret, {
      method: c.req.method,
      path: url.pathname + url.search,
      body,
      header: (name) => c.req.header(name),
      now,
    });
    if (!result.ok) throw new AppError(ErrorCode.UNAUTHORIZED, `request signature ${result.reason}`);
    // Checked before the nonce is claimed: a request for another runtime leaves nothing in this one's cache.
    if (opts.runtimeId !== undefined && result.runtime !== opts.runtimeId) {
      throw new AppError(ErrorCode.UNAUTHORIZED, `request signed for runtime "${result.runtime}", this is "${opts.runtimeId}"`);
    }
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
    await next();
  };
}
