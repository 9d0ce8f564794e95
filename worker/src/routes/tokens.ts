import { Hono } from "hono";
import type { z } from "zod";
import { TokenRequestSchema, type TokenResponseSchema, parseJsonBody, threadRef } from "../../../shared/src/index.ts";
import { type AuthEnv, requireKey, tokenLimiterName } from "../auth/middleware.ts";
import { mintToken } from "../auth/tokens.ts";
import { fromRpc } from "../http/context.ts";
import { threadStub } from "../http/thread-stub.ts";

/**
 * `POST /v1/tokens`: trade the tenant's API key for a short-lived token scoped to one existing thread, to hand to a
 * browser or an agent. The token is bound to the thread's current incarnation (deleted and created again, the thread
 * no longer honours it), to the thread's and the tenant's token generations (revocation) and to the minting key.
 * `POST /v1/tokens/revoke`: every token of the tenant stops working. Both take an API key; mount behind
 * `authenticate()`.
 */
export function tokenRoutes() {
  const app = new Hono<AuthEnv>();

  app.post("/v1/tokens", async (c) => {
    const principal = c.get("principal");
    // Before the body: a token gets the same 403 whatever it sends.
    requireKey(principal);
    const { thread, ttl_seconds, can_delete } = parseJsonBody(await c.req.text(), TokenRequestSchema);
    const grant = await fromRpc(threadStub(c.env, threadRef(principal.tenant, thread)).tokenGrant());
    const tenantGeneration = await c.env.RATE_LIMITER.getByName(tokenLimiterName(principal.tenant)).tokenGeneration();
    const { token, expires_at } = await mintToken(c.env.TOKEN_SECRET, {
      tenant: principal.tenant,
      thread,
      ttlSeconds: ttl_seconds,
      ...grant,
      tenantGeneration,
      keyId: principal.keyId,
      canDelete: can_delete,
    });
    const body: z.infer<typeof TokenResponseSchema> = { token, thread, expires_at, can_delete };
    return c.json(body, 201);
  });

  app.post("/v1/tokens/revoke", async (c) => {
    const principal = c.get("principal");
    requireKey(principal);
    await c.env.RATE_LIMITER.getByName(tokenLimiterName(principal.tenant)).revokeTokens();
    return c.json({ revoked: true });
  });

  return app;
}
