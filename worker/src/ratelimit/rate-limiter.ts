import { DurableObject } from "cloudflare:workers";
import { type Bucket, type Decision, type RateLimit, takeToken } from "./token-bucket.ts";

/**
 * One per rate-limited caller (an API key, or a tenant's thread tokens), named by the caller's id. A Durable Object
 * runs one method at a time, so concurrent requests of one caller from any colo take tokens one after the other.
 *
 * The bucket lives in memory, not storage, so a request costs no storage write and waits for no output gate. An
 * object is evicted only after idling for over a minute, and the configuration keeps a burst refillable within a
 * minute (RATE_LIMIT_BURST <= RATE_LIMIT_PER_MINUTE), so an evicted bucket would have been full again anyway; only
 * a deploy or restart resets one early, at most one extra burst.
 */
export class RateLimiter extends DurableObject<Env> {
  private bucket: Bucket | undefined;

  /** The limits come with each call, from the worker's parsed configuration: one source of truth. */
  take(limit: RateLimit): Decision {
    const { bucket, decision } = takeToken(this.bucket, limit, Date.now());
    this.bucket = bucket;
    return decision;
  }
}
