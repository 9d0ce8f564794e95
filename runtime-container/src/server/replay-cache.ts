/**
 * The nonces of accepted signatures, each kept until its signature expires anyway (timestamp + window), so a
 * captured request sent again inside the window is refused.
 *
 * Bounded by `maxEntries`, and when full it refuses new nonces ("full") instead of forgetting live ones: forgetting
 * early would reopen the replay window, while only the worker (holding the secret) can add entries, so reaching
 * the cap means real overload and a retry moments later succeeds. Memory: about 95 bytes per entry (measured).
 *
 * A restart empties the cache, so signatures dated before the cache was made are refused ("stale"): whatever a
 * previous process accepted cannot be replayed at its successor. Only requests signed in the first second or so of
 * a new runtime, by a worker whose clock lags, are refused with them; the worker's next call passes.
 */
export type Claim = "fresh" | "replayed" | "stale" | "full";

export class ReplayCache {
  /** nonce → last unix second its signature is valid. */
  private readonly expiries = new Map<string, number>();
  /** last valid second → the nonces expiring then: a sweep visits at most 2 × window + 1 buckets. */
  private readonly buckets = new Map<number, string[]>();
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly opts: { maxEntries: number; windowSeconds: number; startedAt: number },
  ) {}

  get size(): number {
    return this.expiries.size;
  }

  /** Records `nonce` (from a verified signature made at `timestamp`) unless seen before; all times unix seconds. */
  claim(nonce: string, timestamp: number, now: number): Claim {
    if (timestamp < this.opts.startedAt) return "stale";
    this.sweep(now);
    if (this.expiries.has(nonce)) return "replayed";
    if (this.expiries.size >= this.opts.maxEntries) return "full";
    const until = timestamp + this.opts.windowSeconds;
    this.expiries.set(nonce, until);
    const bucket = this.buckets.get(until);
    if (bucket) bucket.push(nonce);
    else this.buckets.set(until, [nonce]);
    return "fresh";
  }

  /** Drops every nonce whose signature can no longer verify (its last valid second is before `now`). */
  private sweep(now: number): void {
    if (now === this.sweptAt) return;
    this.sweptAt = now;
    for (const [until, nonces] of this.buckets) {
      if (until >= now) continue;
      for (const nonce of nonces) this.expiries.delete(nonce);
      this.buckets.delete(until);
    }
  }
}
