import { Hono } from "hono";
import { ExposePortSchema, PREVIEW_TTL_DEFAULT_S, SandboxPortSchema, type ExposedPort, type ThreadRef } from "../../../shared/src/index.ts";
import { workerConfig } from "../config.ts";
import type { PortGrant } from "../do/port-grants.ts";
import { type AppEnv, fromRpc, threadFromPath } from "../http/context.ts";
import { jsonBody } from "../http/request.ts";
import { mintCapability } from "../preview/capability.ts";

/** The preview URL of a grant: `<base>/preview/<capability>/`, the capability valid until the grant's expiry. */
async function previewUrl(env: Env, base: string, ref: ThreadRef, incarnation: string, grant: PortGrant): Promise<ExposedPort> {
  const capability = await mintCapability(env.TOKEN_SECRET, {
    tenant: ref.tenant,
    thread: ref.thread,
    inc: incarnation,
    port: grant.port,
    exp: grant.expires_at,
    nonce: grant.nonce,
  });
  return { port: grant.port, url: `${base}/preview/${capability}/`, expires_at: new Date(grant.expires_at * 1000).toISOString() };
}

const baseOf = (env: Env, requestUrl: string) => workerConfig(env).previewBaseUrl || new URL(requestUrl).origin;

/** Preview URLs: expose a port of the thread's sandbox, list the exposed ones, revoke one. */
export function portRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/v1/threads/:thread/ports", async (c) => {
    const req = await jsonBody(c, ExposePortSchema);
    const target = threadFromPath(c);
    const expiresAt = Math.floor(Date.now() / 1000) + (req.ttl_seconds ?? PREVIEW_TTL_DEFAULT_S);
    const { incarnation, grant } = await fromRpc(target.stub.exposePort(target.access, req.port, expiresAt));
    return c.json(await previewUrl(c.env, baseOf(c.env, c.req.url), target.ref, incarnation, grant), 201);
  });

  app.get("/v1/threads/:thread/ports", async (c) => {
    const target = threadFromPath(c);
    const { incarnation, grants } = await fromRpc(target.stub.exposedPorts(target.access));
    const base = baseOf(c.env, c.req.url);
    return c.json({ ports: await Promise.all(grants.map((g) => previewUrl(c.env, base, target.ref, incarnation, g))) });
  });

  app.delete("/v1/threads/:thread/ports/:port", async (c) => {
    const port = SandboxPortSchema.parse(c.req.param("port"));
    const target = threadFromPath(c);
    return c.json(await fromRpc(target.stub.revokePort(target.access, port)));
  });

  return app;
}
