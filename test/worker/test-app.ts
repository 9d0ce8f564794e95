import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { AppError, ErrorCode, toAppError } from "../../shared/src/index.ts";
import { type AuthEnv, authenticate, requireThreadAccess } from "../../worker/src/auth/middleware.ts";
import { tokenRoutes } from "../../worker/src/routes/tokens.ts";

/**
 * A small app wired like the real one (authenticate, then routes, one onError answering with `c.json`), so
 * these tests exercise the auth modules without depending on the worker entry while it is being built.
 */
export function testApp(): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.use("/v1/*", authenticate());
  app.route("/", tokenRoutes());
  app.get("/v1/threads/:thread", (c) => {
    const thread = c.req.param("thread");
    requireThreadAccess(c.get("principal"), thread);
    return c.json({ thread, principal: c.get("principal") });
  });
  app.notFound((c) => {
    const err = new AppError(ErrorCode.NOT_FOUND, "no route");
    return c.json(err.toBody(), err.status);
  });
  app.onError((raw, c) => {
    const err = toAppError(raw);
    return c.json(err.toBody(), err.status);
  });
  return app;
}

export type ErrorReply = { error: { code: string; message: string; details?: unknown } };

/** Sends a request through the test app with the worker's bindings from vitest.config.ts. */
export function call(path: string, init: RequestInit & { auth?: string } = {}): Promise<Response> {
  const { auth, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (auth !== undefined) headers.set("Authorization", auth);
  return Promise.resolve(testApp().request(path, { ...rest, headers }, env));
}
