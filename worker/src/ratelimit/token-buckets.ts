import { type Bucket, type RateLimit, takeToken } from "./token-bucket.ts";

/**
 * A tenant's thread tokens: a bucket per token under one bucket for the tenant (the ceiling), so one end user's
 * browser spending its own tokens cannot lock out the tenant's other sessions, and many tokens together still cannot
 * exceed what the tenant may spend. A request takes from both or from neither. Pure, like token-bucket.ts.
 */
export type TokenLimits = { token: RateLimit; tenant: RateLimit };
export type TokenDecision = { ok: true } | { ok: false; retryAfterSeconds: number; scope: "token" | "tenant" };

/** Buckets kept at most (an evicted one would refill to full: all it costs is one burst, within the ceiling). */
const MAX_TRACKED = 10_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private ceiling: Bucket | undefined;

  admit(tokenId: string, limits: TokenLimits, now: number): TokenDecision {
    const own = takeToken(this.buckets.get(tokenId), limits.token, now);
    if (!own.decision.ok) {
      this.keep(tokenId, own.bucket, limits.token, now);
      return { ok: false, retryAfterSeconds: own.decision.retryAfterSeconds, scope: "token" };
    }
    const tenant = takeToken(this.ceiling, limits.tenant, now);
    this.ceiling = tenant.bucket;
    // Refused by the ceiling: the token's own bucket is left as it was (it took nothing).
    if (!tenant.decision.ok) return { ok: false, retryAfterSeconds: tenant.decision.retryAfterSeconds, scope: "tenant" };
    this.keep(tokenId, own.bucket, limits.token, now);
    return { ok: true };
  }

  /** Forgets every token's bucket (their tokens were revoked); the ceiling stays. */
  clear(): void {
    this.buckets.clear();
  }

  get size(): number {
    return this.buckets.size;
  }

  private keep(tokenId: string, bucket: Bucket, limit: RateLimit, now: number): void {
    this.buckets.delete(tokenId); // re-inserted last: the map's order is least recently used first
    this.buckets.set(tokenId, bucket);
    if (this.buckets.size <= MAX_TRACKED) return;
    // First the buckets that are full again anyway (forgetting them changes nothing), then the least recently used.
    const perMs = limit.perMinute / 60_000;
    for (const [id, b] of this.buckets) {
      if (b.tokens + (now - b.at) * perMs >= limit.burst) this.buckets.delete(id);
    }
    for (const id of this.buckets.keys()) {
      if (this.buckets.size <= MAX_TRACKED) break;
      this.buckets.delete(id);
    }
  }
}
