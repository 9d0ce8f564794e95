import { Hono } from "hono";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import { authenticate } from "../auth/middleware.ts";
import { workerConfig } from "../config.ts";
import type { AppEnv } from "../http/context.ts";
import { rateLimit } from "../ratelimit/middleware.ts";

export const MCP_PATH = "/mcp";

/**
 * The Model Context Protocol over Streamable HTTP, stateless: every POST gets a server and a transport of its own (no
 * session to keep across isolates or Durable Objects; the threads keep the state). Credentials and rate limits are
 * the API's: a bad key or token is a 401 before any message is read. A tool call answers as an SSE stream, so its
 * progress notifications arrive while it runs; there is no standalone stream to GET and no session to DELETE (405).
 */
export function mcpRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(MCP_PATH, authenticate(), rateLimit());

  app.post(MCP_PATH, async (c) => {
    // Loaded on the first MCP request: the SDK and its protocol schemas cost start-up time the API need not pay.
    const { handleMcp } = await import("./handle.ts");
    return handleMcp(c.req.raw, c.env, c.get("principal"), workerConfig(c.env).maxBodyBytes);
  });

  app.on(["GET", "DELETE"], MCP_PATH, (c) => {
    c.header("Allow", "POST");
    throw new AppError(ErrorCode.METHOD_NOT_ALLOWED, "this MCP server is stateless: POST each message to /mcp (no session stream, no session to end)");
  });

  return app;
}
