import { z } from "zod";
import { AppError, ErrorCode, TenantIdSchema, ThreadIdSchema } from "../../../shared/src/index.ts";
import { base64urlDecode, base64urlEncode, decodeJsonSegment } from "./base64url.ts";

/**
 * Thread-scoped tokens: compact JWTs signed with HS256 (HMAC-SHA256 over `header.payload`). A browser or
 * sandboxed agent gets one thread for minutes instead of the tenant's API key. Besides tenant and thread, a token
 * names what it can be revoked by, each checked on every request made with it:
 *   inc, gen  the thread's incarnation and token generation (its Durable Object checks both: do/access.ts)
 *   tgen      the tenant's token generation (its token RateLimiter object checks it: ratelimit/rate-limiter.ts)
 *   kid       the API key that minted it (still listed in API_KEYS, for the same tenant: auth/middleware.ts)
 *   jti       its own id (its rate-limit bucket), and `del`: whether it may delete its thread.
 */
export type TokenClaims = {
  tenant: string;
  thread: string;
  incarnation: string;
  generation: number;
  tenantGeneration: number;
  keyId: string;
  tokenId: string;
  canDelete: boolean;
};
export type MintOptions = Omit<TokenClaims, "tokenId"> & { ttlSeconds: number; now?: number; tokenId?: string };

const ISSUER = "threadbox";
const SCOPE = "thread";
const MIN_SECRET_LENGTH = 32;
// Clocks of the minting and verifying isolates may disagree a little; a token from further ahead is forged.
const MAX_CLOCK_SKEW_SECONDS = 60;
// Far above any token we mint; bounds the work an attacker can make us do before the signature check.
const MAX_TOKEN_LENGTH = 4096;

const HEADER = base64urlEncode(JSON.stringify({ alg: "HS256", typ: "JWT" }));
const HeaderSchema = z.object({ alg: z.literal("HS256"), typ: z.literal("JWT").optional() });
const HEX_ID = /^[0-9a-f]{16,64}$/;
const ClaimsSchema = z.object({
  iss: z.literal(ISSUER),
  scope: z.literal(SCOPE),
  sub: TenantIdSchema,
  thread: ThreadIdSchema,
  inc: z.string().regex(HEX_ID),
  gen: z.number().int().min(0),
  tgen: z.number().int().min(0),
  kid: z.string().regex(HEX_ID),
  jti: z.string().regex(HEX_ID),
  del: z.literal(true).optional(),
  iat: z.number().int(),
  exp: z.number().int(),
});

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function importKey(secret: string): Promise<CryptoKey> {
  if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) {
    throw new AppError(
      ErrorCode.INTERNAL_ERROR,
      `Server misconfigured: TOKEN_SECRET must be at least ${MIN_SECRET_LENGTH} characters.`,
    );
  }
  let key = keys.get(secret);
  if (!key) {
    // One secret per deployment (two while rotating): start over rather than grow without bound.
    if (keys.size >= 2) keys.clear();
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keys.set(secret, key);
  }
  return key;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A token id: 128 random bits, lowercase hex. */
export function newTokenId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** Signs a token for one thread of one tenant. `now` is unix seconds and `tokenId` fixed only in tests. */
export async function mintToken(secret: string, opts: MintOptions): Promise<{ token: string; expires_at: string; token_id: string }> {
  const key = await importKey(secret);
  if (!Number.isSafeInteger(opts.ttlSeconds) || opts.ttlSeconds <= 0) {
    const got = opts.ttlSeconds;
    throw new AppError(ErrorCode.INTERNAL_ERROR, `token lifetime must be whole positive seconds, got ${got}`);
  }
  const iat = opts.now ?? nowSeconds();
  const exp = iat + opts.ttlSeconds;
  const jti = opts.tokenId ?? newTokenId();
  const claims = {
    iss: ISSUER,
    sub: opts.tenant,
    thread: opts.thread,
    scope: SCOPE,
    inc: opts.incarnation,
    gen: opts.generation,
    tgen: opts.tenantGeneration,
    kid: opts.keyId,
    jti,
    ...(opts.canDelete ? { del: true as const } : {}),
    iat,
    exp,
  };
  // Callers pass validated ids; a bad one here is our bug, and a token that could never verify helps no one.
  if (!ClaimsSchema.safeParse(claims).success) {
    throw new AppError(ErrorCode.INTERNAL_ERROR, "cannot mint a token from invalid claims (tenant, thread or ids)");
  }
  const signingInput = `${HEADER}.${base64urlEncode(JSON.stringify(claims))}`;
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(signingInput));
  return {
    token: `${signingInput}.${base64urlEncode(new Uint8Array(mac))}`,
    expires_at: new Date(exp * 1000).toISOString(),
    token_id: jti,
  };
}

/**
 * The claims of a token (TokenClaims), or null when it is malformed, not HS256, badly signed, expired or issued in
 * the future. Whether it has been revoked is checked by those who keep the generations. Throws only for a
 * misconfigured secret.
 */
export async function verifyToken(secret: string, token: string, now?: number): Promise<TokenClaims | null> {
  const key = await importKey(secret);
  if (token.length > MAX_TOKEN_LENGTH) return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [headerPart = "", payloadPart = "", signaturePart = ""] = parts;

  // The algorithm is pinned: whatever the header claims, only HS256 is ever checked, and any other claim
  // (none, HS512, RS256...) is refused before the signature is looked at.
  if (!HeaderSchema.safeParse(decodeJsonSegment(headerPart)).success) return null;
  const signature = base64urlDecode(signaturePart);
  if (!signature || signature.length !== 32) return null;
  // subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify(
    "HMAC",
    key,
    signature,
    encoder.encode(`${headerPart}.${payloadPart}`),
  );
  if (!valid) return null;

  const claims = ClaimsSchema.safeParse(decodeJsonSegment(payloadPart));
  if (!claims.success) return null;
  const at = now ?? nowSeconds();
  const c = claims.data;
  if (c.exp <= at || c.iat > at + MAX_CLOCK_SKEW_SECONDS || c.iat >= c.exp) return null;
  return {
    tenant: c.sub,
    thread: c.thread,
    incarnation: c.inc,
    generation: c.gen,
    tenantGeneration: c.tgen,
    keyId: c.kid,
    tokenId: c.jti,
    canDelete: c.del === true,
  };
}
