import { Hono } from "hono";
import type { Context } from "hono";
import { AppError, ErrorCode, decodeWorkspacePath, runtimePaths } from "../../../shared/src/index.ts";
import type { AppEnv } from "../http/context.ts";
import { forwardToRuntime } from "../http/forward.ts";

/** The workspace path after `/files/`, checked here too, so a bad path never leaves the edge. */
function filePath(c: Context<AppEnv>): string {
  return decodeWorkspacePath(c.req.path.replace(/^\/v1\/threads\/[^/]+\/files\/?/, ""));
}

/** Raw file bytes in and out, proxied to the thread's runtime (which confines them to the workspace). */
export function fileRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/v1/threads/:thread/files", (c) => {
    const query = new URLSearchParams();
    query.set("path", decodeWorkspacePath(encodeURIComponent(c.req.query("path") ?? "")));
    if (c.req.query("recursive")) query.set("recursive", c.req.query("recursive") as string);
    return forwardToRuntime(c, "GET", (ref) => `${runtimePaths.files(ref)}?${query}`);
  });
  app.get("/v1/threads/:thread/files/*", (c) => forwardToRuntime(c, "GET", (ref) => runtimePaths.files(ref, filePath(c))));
  app.put("/v1/threads/:thread/files/*", async (c) => {
    const rel = filePath(c);
    if (rel === "") throw new AppError(ErrorCode.INVALID_PATH, "name a file to write, not the workspace root");
    const body = new Uint8Array(await c.req.arrayBuffer());
    return forwardToRuntime(c, "PUT", (ref) => runtimePaths.files(ref, rel), body);
  });
  app.delete("/v1/threads/:thread/files/*", (c) => {
    const recursive = c.req.query("recursive") ? `?recursive=${encodeURIComponent(c.req.query("recursive") as string)}` : "";
    return forwardToRuntime(c, "DELETE", (ref) => runtimePaths.files(ref, filePath(c)) + recursive);
  });

  return app;
}
