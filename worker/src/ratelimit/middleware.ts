import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import { type AuthEnv, CHALLENGE } from "../auth/middleware.ts";
import { workerConfig } from "../config.ts";
import type { RateLimit } from "./token-bucket.ts";

/** 429 RATE_LIMITED with `retry_after`, which the app's error translator turns into a Retry-After header. */
function limited(limit: RateLimit, retryAfter: number, what: string): AppError {
  return new AppError(
    ErrorCode.RATE_LIMITED,
    `rate limit exceeded${what}: ${limit.perMinute} requests a minute, bursts of ${limit.burst}; retry in ${retryAfter} s`,
    { retry_after: retryAfter, limit_per_minute: limit.perMinute, burst: limit.burst },
  );
}

/**
 * Runs after authenticate(): one token per request from the caller's bucket (its RateLimiter object), or 429. A
 * thread token takes from its own bucket and its tenant's (one round trip to the tenant's token object, which also
 * refuses a token revoked tenant-wide with 401).
 */
export function rateLimit() {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const config = workerConfig(c.env);
    const principal = c.get("principal");
    const limiter = c.env.RATE_LIMITER.getByName(c.get("rateLimitKey"));
    if (principal.via === "key") {
      const decision = await limiter.take(config.rateLimit);
      if (!decision.ok) throw limited(config.rateLimit, decision.retryAfterSeconds, "");
    } else {
      const limits = { token: config.tokenRateLimit, tenant: config.rateLimit };
      const decision = await limiter.admitToken(principal.tokenId, principal.tenantGeneration, limits);
      if (!decision.ok && "revoked" in decision) {
        c.header("WWW-Authenticate", CHALLENGE);
        throw new AppError(ErrorCode.UNAUTHORIZED, "this token was revoked; ask for a new one");
      }
      if (!decision.ok) {
        const own = decision.scope === "token";
        throw limited(own ? limits.token : limits.tenant, decision.retryAfterSeconds, own ? " for this token" : " for this tenant's tokens");
      }
    }
    await next();
  });
}

/**
 * The address a request comes from, for the routes that need no credentials: CF-Connecting-IP, which Cloudflare
 * sets on every request it forwards. Without it (a local request) every client shares one bucket.
 */
export function clientAddress(c: Context): string {
  return c.req.header("CF-Connecting-IP")?.trim() || "local";
}

/** One token per request from the client address's bucket on an open route, or 429 with Retry-After. */
export function openRateLimit() {
  return createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const limit = workerConfig(c.env).openRateLimit;
    const decision = await c.env.RATE_LIMITER.getByName(`open:${clientAddress(c)}`).take(limit);
    if (!decision.ok) throw limited(limit, decision.retryAfterSeconds, " for this address");
    await next();
  });
}
