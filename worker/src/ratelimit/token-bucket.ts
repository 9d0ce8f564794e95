/**
 * A token bucket: at most `burst` tokens, refilled continuously at `perMinute` tokens a minute; each request takes
 * one. Pure, so the Durable Object holding it stays a thin shell and the arithmetic is testable on its own.
 */
export type RateLimit = { perMinute: number; burst: number };
export type Bucket = { tokens: number; at: number };
export type Decision = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

/** Takes one token at `now` (ms). A new bucket starts full; a lowered burst caps what an old one holds. */
export function takeToken(bucket: Bucket | undefined, limit: RateLimit, now: number): { bucket: Bucket; decision: Decision } {
  const perMs = limit.perMinute / 60_000;
  const elapsed = bucket ? Math.max(0, now - bucket.at) : 0;
  const tokens = Math.min(limit.burst, bucket ? bucket.tokens + elapsed * perMs : limit.burst);
  if (tokens >= 1) {
    return { bucket: { tokens: tokens - 1, at: now }, decision: { ok: true, remaining: Math.floor(tokens - 1) } };
  }
  // Whole seconds until one token is back (Retry-After has no fractions), never 0: retrying at once would fail.
  const retryAfterSeconds = Math.max(1, Math.ceil((1 - tokens) / perMs / 1000));
  return { bucket: { tokens, at: now }, decision: { ok: false, retryAfterSeconds } };
}
