import { DurableObject } from "cloudflare:workers";
import { type Bucket, type Decision, type RateLimit, takeToken } from "./token-bucket.ts";
import { type TokenDecision, type TokenLimits, TokenBuckets } from "./token-buckets.ts";

/** Storage key of a tenant's token generation (the only thing a RateLimiter stores). */
const GENERATION_KEY = "token_generation";

/**
 * One per rate-limited caller, named by the caller's id: an API key, a client address on the open routes, or a
 * tenant's thread tokens. A Durable Object runs one method at a time, so concurrent requests of one caller from any
 * colo take tokens one after the other.
 *
 * Buckets live in memory, not storage, so a request costs no storage write and waits for no output gate. An object is
 * evicted only after idling for over a minute, and the configuration keeps a burst refillable within a minute
 * (RATE_LIMIT_BURST <= RATE_LIMIT_PER_MINUTE), so an evicted bucket would have been full again anyway; only a deploy
 * or restart resets one early, at most one extra burst.
 *
 * A tenant's token object also keeps the tenant's token generation, in storage (it must survive eviction): every
 * token carries the generation it was minted under, and `POST /v1/tokens/revoke` moves it on. Checking it here costs
 * token requests nothing extra: they come here for their rate limit anyway.
 */
export class RateLimiter extends DurableObject<Env> {
  private bucket: Bucket | undefined;
  private readonly tokens = new TokenBuckets();
  private generation: number | undefined;

  /** The limits come with each call, from the worker's parsed configuration: one source of truth. */
  take(limit: RateLimit): Decision {
    const { bucket, decision } = takeToken(this.bucket, limit, Date.now());
    this.bucket = bucket;
    return decision;
  }

  /** A request made with a thread token: refused as revoked, or limited per token and per tenant. */
  async admitToken(tokenId: string, generation: number, limits: TokenLimits): Promise<TokenDecision | { ok: false; revoked: true }> {
    if (generation !== (await this.tokenGeneration())) return { ok: false, revoked: true };
    return this.tokens.admit(tokenId, limits, Date.now());
  }

  /** The generation a token minted now carries. */
  async tokenGeneration(): Promise<number> {
    this.generation ??= (await this.ctx.storage.get<number>(GENERATION_KEY)) ?? 0;
    return this.generation;
  }

  /** Every token of the tenant minted so far stops working. */
  async revokeTokens(): Promise<number> {
    const next = (await this.tokenGeneration()) + 1;
    await this.ctx.storage.put(GENERATION_KEY, next);
    this.generation = next;
    this.tokens.clear();
    return next;
  }
}
