import {
  AppError,
  ErrorCode,
  SIGNATURE_WINDOW_SECONDS,
  type VerifyResult,
  runtimePaths,
  verifyRequest,
} from "../../../shared/src/index.ts";
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

export type Verified = Extract<VerifyResult, { ok: true }>;

/**
 * The worker's HMAC signature on a request, checked from its method, target and headers alone, with a nonce this
 * runtime has not accepted before and, when RUNTIME_ID is set, signed for this runtime. One instance (one replay
 * cache) serves the Hono routes and the WebSocket upgrades, so a nonce used on one cannot be used on the other.
 */
export class SignatureCheck {
  private readonly seen: ReplayCache;

  constructor(
    private readonly secret: string,
    private readonly opts: { maxNonces?: number; runtimeId?: string } = {},
  ) {
    this.seen = new ReplayCache({
      maxEntries: opts.maxNonces ?? DEFAULT_MAX_NONCES,
      windowSeconds: SIGNATURE_WINDOW_SECONDS,
      startedAt: nowSeconds(),
    });
  }

  /** The verified signature, or an UNAUTHORIZED (RUNTIME_UNAVAILABLE when the replay cache is full) AppError. */
  async check(method: string, target: string, header: (name: string) => string | null | undefined): Promise<Verified> {
    const now = nowSeconds();
    const result = await verifyRequest(this.secret, { method, path: target, header, now });
    if (!result.ok) throw new AppError(ErrorCode.UNAUTHORIZED, `request signature ${result.reason}`);
    // Checked before the nonce is claimed: a request for another runtime leaves nothing in this one's cache.
    if (this.opts.runtimeId !== undefined && result.runtime !== this.opts.runtimeId) {
      throw new AppError(ErrorCode.UNAUTHORIZED, `request signed for runtime "${result.runtime}", this is "${this.opts.runtimeId}"`);
    }
    if (NONCE_FREE.has(`${method} ${target}`)) return result;
    const claim = this.seen.claim(result.nonce, result.timestamp, now);
    if (claim === "replayed" || claim === "stale") {
      throw new AppError(ErrorCode.UNAUTHORIZED, `request signature ${claim}: sign every request anew`);
    }
    if (claim === "full") {
      throw new AppError(
        ErrorCode.RUNTIME_UNAVAILABLE,
        `the runtime accepted ${this.seen.size} signed requests within ${SIGNATURE_WINDOW_SECONDS} s, its replay-protection cap; retry shortly`,
      );
    }
    return result;
  }
}
