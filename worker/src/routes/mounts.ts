import { Hono } from "hono";
import type { Context } from "hono";
import { AppError, ErrorCode, MountNameSchema, decodeWorkspacePath, runtimePaths } from "../../../shared/src/index.ts";
import { requireKey } from "../auth/middleware.ts";
import { workerConfig } from "../config.ts";
import type { AppEnv } from "../http/context.ts";
import { callAnyRuntime } from "../runtime/any-runtime.ts";
import { runtimeClient } from "../runtime/client.ts";

const PASSED_HEADERS = ["content-type", "content-length"];

/** The tenant (API keys only: a thread token is refused before anything else) and the mount named in the path. */
function tenantOf(c: Context<AppEnv>): string {
  const principal = c.get("principal");
  requireKey(principal);
  return principal.tenant;
}

function mountName(c: Context<AppEnv>): string {
  const parsed = MountNameSchema.safeParse(c.req.param("name") ?? "");
  if (!parsed.success) throw new AppError(ErrorCode.VALIDATION_FAILED, parsed.error.issues[0]?.message ?? "invalid mount name");
  return parsed.data;
}

/** The path after `/files/`, checked here too, so a bad path never leaves the edge. */
const filePath = (c: Context<AppEnv>) => decodeWorkspacePath(c.req.path.replace(/^\/v1\/mounts\/[^/]+\/files\/?/, ""));

/** One call to any runtime (the mounts live on the shared storage), answered as the runtime answered. */
async function forward(c: Context<AppEnv>, tenant: string, method: string, path: string, body?: Uint8Array): Promise<Response> {
  const config = workerConfig(c.env);
  // A PUT of the same bytes or a deletion may be sent again: the result is the same.
  const res = await callAnyRuntime(runtimeClient(c.env), config.runtimeUrls, `mounts/${tenant}`, { method, path, ...(body ? { body } : {}) }, true);
  return new Response(res.body, { status: res.status, headers: Object.fromEntries([...res.headers].filter(([k]) => PASSED_HEADERS.includes(k))) });
}

/**
 * A tenant's shared read-only mounts (skills, attachments): named file sets that threads created with
 * `mounts: [{name, path}]` see read-only. Managed with API keys only; never with a thread token.
 */
export function mountRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/v1/mounts", (c) => {
    const tenant = tenantOf(c);
    return forward(c, tenant, "GET", runtimePaths.mounts(tenant));
  });
  app.get("/v1/mounts/:name/files", (c) => {
    const tenant = tenantOf(c);
    return forward(c, tenant, "GET", runtimePaths.mounts(tenant, mountName(c)));
  });
  app.put("/v1/mounts/:name/files/*", async (c) => {
    const tenant = tenantOf(c);
    const [name, rel] = [mountName(c), filePath(c)];
    if (rel === "") throw new AppError(ErrorCode.INVALID_PATH, "name a file to write inside the mount");
    return forward(c, tenant, "PUT", runtimePaths.mounts(tenant, name, rel), new Uint8Array(await c.req.arrayBuffer()));
  });
  app.delete("/v1/mounts/:name/files/*", (c) => {
    const tenant = tenantOf(c);
    const [name, rel] = [mountName(c), filePath(c)];
    if (rel === "") throw new AppError(ErrorCode.INVALID_PATH, "name a file; DELETE /v1/mounts/:name removes the whole mount");
    return forward(c, tenant, "DELETE", runtimePaths.mounts(tenant, name, rel));
  });
  app.delete("/v1/mounts/:name", (c) => {
    const tenant = tenantOf(c);
    return forward(c, tenant, "DELETE", `${runtimePaths.mounts(tenant)}/${mountName(c)}`);
  });

  return app;
}
