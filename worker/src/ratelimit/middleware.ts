import { createMiddleware } from "hono/factory";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { AuthEnv } from "../auth/middleware.ts";
import { workerConfig } from "../config.ts";

/**
 * Runs after authenticate(): one token per request from the caller's bucket (its RateLimiter object), or 429
 * RATE_LIMITED with `retry_after`, which the app's error translator turns into a Retry-After header.
 */
export function rateLimit() {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const limit = workerConfig(c.env).rateLimit;
    const decision = await c.env.RATE_LIMITER.getByName(c.get("rateLimitKey")).take(limit);
    if (!decision.ok) {
      throw new AppError(
        ErrorCode.RATE_LIMITED,
        `rate limit exceeded: ${limit.perMinute} requests a minute, bursts of ${limit.burst}; retry in ${decision.retryAfterSeconds} s`,
        { retry_after: decision.retryAfterSeconds, limit_per_minute: limit.perMinute, burst: limit.burst },
      );
    }
    await next();
  });
}
