import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError, ErrorCode, REQUEST_ID_HEADER, toAppError } from "../../shared/src/index.ts";
import { CHALLENGE, authenticate } from "./auth/middleware.ts";
import { workerConfig } from "./config.ts";
import { cors } from "./cors.ts";
import type { AppEnv } from "./http/context.ts";
import { mcpRoutes } from "./mcp/routes.ts";
import { openApiDocument } from "./openapi.ts";
import { openRateLimit, rateLimit } from "./ratelimit/middleware.ts";
import { contextRoutes } from "./routes/contexts.ts";
import { checkpointRoutes } from "./routes/checkpoints.ts";
import { processRoutes } from "./routes/processes.ts";
import { executeRoutes } from "./routes/execute.ts";
import { executionRoutes } from "./routes/executions.ts";
import { fileRoutes } from "./routes/files.ts";
import { healthRoutes } from "./routes/health.ts";
import { mountRoutes } from "./routes/mounts.ts";
import { pageRoutes } from "./routes/pages.ts";
import { threadRoutes } from "./routes/threads.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { previewRoutes } from "./preview/preview-routes.ts";
import { portRoutes } from "./routes/ports.ts";
import { terminalRoutes } from "./routes/terminal.ts";

/** The public `/v1` API: request id, CORS, open routes and pages, body cap, auth, rate limit, routes; one error translator. */
export const app = new Hono<AppEnv>();

/**
 * Routes anyone may call, without credentials: rate limited per client address instead (openRateLimit). A route
 * added here is limited like the others; keep each cheap (health answers from the isolate's cached view).
 */
const OPEN_ROUTES = ["/v1/health", "/openapi.json"] as const;

app.use("*", async (c, next) => {
  const id = c.req.header(REQUEST_ID_HEADER) ?? crypto.randomUUID();
  c.set("requestId", id);
  await next();
  // After the route: a header set before it is lost when the route answers with a Response of its own (a stream).
  c.header(REQUEST_ID_HEADER, id);
});
// Preview URLs: their capability is their credential, their CORS and bodies the sandbox server's own (preview/).
app.route("/", previewRoutes());
app.use("*", cors());
for (const path of OPEN_ROUTES) app.use(path, openRateLimit());
app.route("/", healthRoutes());
app.get("/openapi.json", (c) => c.json(openApiDocument()));
// The landing page, playground and API reference: static assets, no credentials (routes/pages.ts).
app.route("/", pageRoutes());
app.use("/v1/*", (c, next) =>
  bodyLimit({
    maxSize: workerConfig(c.env).maxBodyBytes,
    onError: () => {
      throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `request body exceeds ${workerConfig(c.env).maxBodyBytes} bytes`);
    },
  })(c, next),
);
app.use("/v1/*", authenticate());
app.use("/v1/*", rateLimit());
app.route("/", tokenRoutes());
app.route("/", threadRoutes());
app.route("/", executeRoutes());
app.route("/", executionRoutes());
app.route("/", fileRoutes());
app.route("/", contextRoutes());
app.route("/", mountRoutes());
app.route("/", checkpointRoutes());
app.route("/", portRoutes());
app.route("/", terminalRoutes());
app.route("/", processRoutes());
// The MCP server (`/mcp`): the same credentials and rate limits, applied by its own routes.
app.route("/", mcpRoutes());

app.notFound((c) => {
  const err = new AppError(ErrorCode.NOT_FOUND, `no route for ${c.req.method} ${c.req.path}`);
  return c.json(err.toBody(c.get("requestId")), err.status);
});
app.onError((raw, c) => {
  const err = toAppError(raw);
  if (err.code === ErrorCode.INTERNAL_ERROR) {
    console.error(JSON.stringify({ level: "error", msg: "unhandled error", path: c.req.path, error: String(raw) }));
  }
  const retryAfter = (err.details as { retry_after?: number } | undefined)?.retry_after;
  if (err.status === 429 && retryAfter) c.header("Retry-After", String(retryAfter));
  // Also for a 401 from deeper down (a thread's object refusing a revoked token): the challenge says how to retry.
  if (err.status === 401) c.header("WWW-Authenticate", CHALLENGE);
  return c.json(err.toBody(c.get("requestId")), err.status);
});
