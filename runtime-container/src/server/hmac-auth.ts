import type { MiddlewareHandler } from "hono";
import { AppError, ErrorCode, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyRequest } from "../../../shared/src/index.ts";

/**
 * Every request must carry the worker's HMAC signature over method, path+query, timestamp and body hash.
 * The body is read here (already capped by bodyLimit) and stays cached for the handlers.
 */
export function hmacAuth(secret: string): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const result = await verifyRequest(secret, {
      method: c.req.method,
      path: url.pathname + url.search,
      body,
      timestamp: c.req.header(TIMESTAMP_HEADER),
      signature: c.req.header(SIGNATURE_HEADER),
    });
    if (!result.ok) throw new AppError(ErrorCode.UNAUTHORIZED, `request signature ${result.reason}`);
    await next();
  };
}
