import { Hono } from "hono";
import { AppError, ErrorCode, REQUEST_ID_HEADER, toAppError } from "../../shared/src/index.ts";
import { contextRoutes } from "./routes/contexts.ts";
import { checkpointRoutes } from "./routes/checkpoints.ts";
import { processRoutes } from "./routes/processes.ts";
import { executeRoutes } from "./routes/execute.ts";
import { fileRoutes } from "./routes/files.ts";
import { mountRoutes } from "./routes/mounts.ts";
import { threadRoutes } from "./routes/threads.ts";
import type { Services } from "./services.ts";
import { egressSecrets } from "./server/egress-secrets.ts";
import { hmacAuth } from "./server/hmac-auth.ts";
import { portProxyRoutes } from "./ports/http-proxy.ts";
import { SignatureCheck } from "./server/signature-check.ts";

/**
 * The runtime's internal API: the HMAC check (signed headers first, then the body read under its size cap and
 * matched against the signed digest), then routes; one error translator for all of it.
 */
type AppEnv = { Variables: { requestId: string } };

/** The one signature check (and replay cache) of a runtime: the app's and the WebSocket upgrades' (server/upgrades.ts). */
export const signatureCheck = (s: Services): SignatureCheck => new SignatureCheck(s.config.HMAC_SECRET, { runtimeId: s.config.RUNTIME_ID });

export function createApp(s: Services, check: SignatureCheck = signatureCheck(s)): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use("*", async (c, next) => {
    const id = c.req.header(REQUEST_ID_HEADER) ?? crypto.randomUUID();
    c.set("requestId", id);
    c.header(REQUEST_ID_HEADER, id);
    await next();
  });
  app.use("*", hmacAuth(s.config.HMAC_SECRET, { maxBodyBytes: s.config.MAX_BODY_BYTES, runtimeId: s.config.RUNTIME_ID, check }));
  app.use("/threads/*", egressSecrets(s.config.HMAC_SECRET, s.sandbox.settings));

  app.route("/", threadRoutes(s));
  app.route("/", executeRoutes(s));
  app.route("/", fileRoutes(s));
  app.route("/", contextRoutes(s));
  app.route("/", mountRoutes(s));
  app.route("/", checkpointRoutes(s));
  app.route("/", portProxyRoutes(s));
  app.route("/", processRoutes(s));

  app.notFound((c) => {
    const err = new AppError(ErrorCode.NOT_FOUND, `no route for ${c.req.method} ${c.req.path}`);
    return c.json(err.toBody(c.get("requestId")), err.status);
  });
  app.onError((raw, c) => {
    // A file operation that hit a dead bucket mount is STORAGE_UNAVAILABLE, not an internal error.
    const err = toAppError(s.storage.explain(raw));
    if (err.code === ErrorCode.INTERNAL_ERROR) s.logger.error("unhandled error", { error: String(raw), path: c.req.path });
    return c.json(err.toBody(c.get("requestId")), err.status);
  });
  return app;
}
