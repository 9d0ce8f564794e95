import { Hono } from "hono";
import type { Context } from "hono";
import { AppError, ErrorCode, MountNameSchema, TenantIdSchema, decodeWorkspacePath } from "../../../shared/src/index.ts";
import type { Services } from "../services.ts";

/** Tenant and mount name of a `/mounts/:tenant/:name/...` request, validated as single safe segments. */
function mountOf(c: Context): { tenant: string; name: string } {
  const tenant = TenantIdSchema.safeParse(c.req.param("tenant"));
  if (!tenant.success) throw new AppError(ErrorCode.VALIDATION_FAILED, "invalid tenant id");
  const name = MountNameSchema.safeParse(c.req.param("name") ?? "");
  if (!name.success) throw new AppError(ErrorCode.VALIDATION_FAILED, name.error.issues[0]?.message ?? "invalid mount name");
  return { tenant: tenant.data, name: name.data };
}

/** The mount-relative path after `/files/`, decoded and checked like a workspace path ("" is the mount itself). */
const filePath = (c: Context) => decodeWorkspacePath(c.req.path.replace(/^\/mounts\/[^/]+\/[^/]+\/files\/?/, ""));

/**
 * Tenants' read-only mounts (thread-less: the worker sends these to any runtime; the files live on the shared
 * storage). Writes are the runtime's own, as root; sandboxes only ever see the mounts read-only.
 */
export function mountRoutes(s: Services): Hono {
  const app = new Hono();

  app.get("/mounts/:tenant", async (c) => {
    const tenant = TenantIdSchema.safeParse(c.req.param("tenant"));
    if (!tenant.success) throw new AppError(ErrorCode.VALIDATION_FAILED, "invalid tenant id");
    return c.json({ mounts: await s.mounts.list(tenant.data) });
  });

  app.get("/mounts/:tenant/:name/files", async (c) => {
    const { tenant, name } = mountOf(c);
    return c.json({ name, entries: await s.mounts.files(tenant, name) });
  });

  app.put("/mounts/:tenant/:name/files/*", async (c) => {
    const { tenant, name } = mountOf(c);
    const rel = filePath(c);
    if (rel === "") throw new AppError(ErrorCode.INVALID_PATH, "name a file to write inside the mount");
    const data = new Uint8Array(await c.req.arrayBuffer());
    return c.json({ name, ...(await s.mounts.put(tenant, name, rel, data)) }, 201);
  });

  const remove = async (c: Context) => {
    const { tenant, name } = mountOf(c);
    const rel = c.req.path.includes("/files") ? filePath(c) : "";
    await s.mounts.remove(tenant, name, rel);
    return c.json({ name, deleted: rel || name });
  };
  app.delete("/mounts/:tenant/:name", remove);
  app.delete("/mounts/:tenant/:name/files/*", remove);

  return app;
}
