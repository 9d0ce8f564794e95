import { createMiddleware } from "hono/factory";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { ThreadAccess } from "../do/access.ts";
import { keyIdOf, keyStillListed, lookupKey, parseApiKeys } from "./api-keys.ts";
import { verifyToken } from "./tokens.ts";
import { webSocketCredential } from "./ws-credential.ts";

/**
 * Who is calling: a tenant's API key (every thread of the tenant) or a token for one thread. A token carries its
 * grant (checked by the thread's object), its id and tenant generation (checked by the tenant's token limiter) and
 * whether it may delete its thread.
 */
export type Principal =
  | { tenant: string; via: "key"; keyId: string }
  | {
      tenant: string;
      via: "token";
      thread: string;
      grant: NonNullable<ThreadAccess>;
      tokenId: string;
      tenantGeneration: number;
      canDelete: boolean;
    };
/**
 * `rateLimitKey` names the caller's rate-limit object: `key:<sha-256 of the key>` per API key, and one object for
 * all thread tokens of a tenant (tokenLimiterName), which keeps a bucket per token under a tenant-wide ceiling, so
 * minting many tokens does not multiply a key's rate and one token cannot use up the others'.
 */
export type AuthEnv = { Bindings: Env; Variables: { principal: Principal; rateLimitKey: string } };

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
// Three base64url segments (the last may be empty, as in an `alg: none` token, so that one is refused as a
// token). An API key of this shape would be taken for a token, so keys are issued without dots.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
export const CHALLENGE = 'Bearer realm="threadbox"';

/** The RateLimiter object holding a tenant's token buckets and token generation. */
export const tokenLimiterName = (tenant: string) => `tokens:${tenant}`;

/**
 * Sets `principal` and `rateLimitKey`, or throws UNAUTHORIZED. The challenge header goes on the context before
 * the throw: Hono keeps headers set with `c.header()` when `onError` builds its response with `c.json()`.
 */
export function authenticate() {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const refuse = (message: string): AppError => {
      c.header("WWW-Authenticate", CHALLENGE);
      return new AppError(ErrorCode.UNAUTHORIZED, message);
    };
    const header = c.req.header("Authorization") ?? webSocketCredential(c.req.header("Upgrade"), c.req.header("Sec-WebSocket-Protocol"));
    const credential = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (credential === undefined) throw refuse("missing Authorization: Bearer <api key or token>");

    if (JWT_SHAPE.test(credential)) {
      const claims = await verifyToken(c.env.TOKEN_SECRET, credential);
      if (!claims) throw refuse("invalid or expired token");
      if (!keyStillListed(parseApiKeys(c.env.API_KEYS), claims.tenant, claims.keyId)) {
        throw refuse("this token was revoked: the API key that minted it is no longer valid");
      }
      c.set("principal", {
        tenant: claims.tenant,
        via: "token",
        thread: claims.thread,
        grant: { incarnation: claims.incarnation, generation: claims.generation },
        tokenId: claims.tokenId,
        tenantGeneration: claims.tenantGeneration,
        canDelete: claims.canDelete,
      });
      c.set("rateLimitKey", tokenLimiterName(claims.tenant));
    } else {
      const key = await lookupKey(parseApiKeys(c.env.API_KEYS), credential);
      if (key === null) throw refuse("invalid API key");
      c.set("principal", { tenant: key.tenant, via: "key", keyId: keyIdOf(key.id) });
      c.set("rateLimitKey", `key:${key.id}`);
    }
    await next();
  });
}

/** The answer for a thread the caller may not see: identical to a missing one, so nothing leaks. */
export function threadNotFound(threadId: string): AppError {
  return new AppError(ErrorCode.THREAD_NOT_FOUND, `thread ${threadId} not found`);
}

/** A token reaches only its own thread; a key reaches every thread of its tenant (the DO id scopes those). */
export function requireThreadAccess(principal: Principal, threadId: string): void {
  if (principal.via === "token" && principal.thread !== threadId) throw threadNotFound(threadId);
}

/** What the caller reaches in a thread's object: everything (a key) or its token's grant. */
export function accessOf(principal: Principal): ThreadAccess {
  return principal.via === "token" ? principal.grant : null;
}

/** Deleting a thread (its workspace and history) takes an API key, or a token minted with `can_delete`. */
export function requireDeleteRight(principal: Principal): void {
  if (principal.via === "token" && !principal.canDelete) {
    throw new AppError(ErrorCode.FORBIDDEN, "deleting a thread needs an API key, or a token minted with can_delete: true");
  }
}

/** Tokens cannot mint tokens: a token handed to a browser must not outlive itself or widen its thread. */
export function requireKey(principal: Principal): asserts principal is Extract<Principal, { via: "key" }> {
  if (principal.via !== "key") {
    throw new AppError(ErrorCode.FORBIDDEN, "this operation needs an API key; a thread token cannot perform it");
  }
}
