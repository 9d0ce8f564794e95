import { Hono } from "hono";
import type { z } from "zod";
import { TokenRequestSchema, type TokenResponseSchema, parseJsonBody } from "../../../shared/src/index.ts";
import { type AuthEnv, requireKey } from "../auth/middleware.ts";
import { mintToken } from "../auth/tokens.ts";

/**
 * `POST /v1/tokens`: trade the tenant's API key for a short-lived token scoped to one thread, to hand to a
 * browser or an agent. Mount behind `authenticate()`; the thread need not exist yet (a token for a thread
 * that is never created reaches nothing).
 */
export function tokenRoutes() {
  return new Hono<AuthEnv>().post("/v1/tokens", async (c) => {
    const principal = c.get("principal");
    // Before the body: a token gets the same 403 whatever it sends.
    requireKey(principal);
    const { thread, ttl_seconds } = parseJsonBody(await c.req.text(), TokenRequestSchema);
    const { token, expires_at } = await mintToken(c.env.TOKEN_SECRET, {
      tenant: principal.tenant,
      thread,
      ttlSeconds: ttl_seconds,
    });
    const body: z.infer<typeof TokenResponseSchema> = { token, thread, expires_at };
    return c.json(body, 201);
  });
}
