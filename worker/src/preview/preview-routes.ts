import { Hono } from "hono";
import { AppError, ErrorCode, runtimePaths } from "../../../shared/src/index.ts";
import type { AppEnv } from "../http/context.ts";
import { fromRpc } from "../http/context.ts";
import { threadStub } from "../http/thread-stub.ts";
import { runtimeClient } from "../runtime/client.ts";
import { workerConfig } from "../config.ts";
import { verifyCapability } from "./capability.ts";
import { passThrough } from "./pass-through.ts";

const PREFIX = /^\/preview\/([^/]+)(\/.*)?$/;

/**
 * A preview served from the API's own origin (no PREVIEW_BASE_URL, or reached on another host) runs in an opaque
 * origin: the sandbox's pages are the thread's code, and on the API's origin they could read the playground's
 * session or drive its pages. A CSP added to the server's own (both apply). Apps that need their origin (cookies,
 * fetches to themselves) get it on a preview origin of their own (PREVIEW_BASE_URL).
 */
const OPAQUE_ORIGIN = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads";

function sameOriginAsApi(env: Env, url: URL): boolean {
  const base = workerConfig(env).previewBaseUrl;
  return base === "" || new URL(base).origin !== url.origin;
}

/**
 * `/preview/<capability>/<path>`: anyone holding the URL reaches that one port of that one thread's sandbox (any
 * method, bodies streamed both ways, WebSocket upgrades), nothing else. A capability that does not verify is 403; one
 * revoked, replaced or expired is 404 (the thread's object keeps the active grants). Outside `/v1`: no API
 * credentials here, and no body cap (the body streams through to the sandbox's own server).
 */
export function previewRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.all("/preview/:capability", (c) => c.redirect(`${new URL(c.req.url).pathname}/`, 308));
  app.all("/preview/:capability/*", async (c) => {
    const url = new URL(c.req.url);
    const [, capability = "", rest = "/"] = PREFIX.exec(url.pathname) ?? [];
    const verified = await verifyCapability(c.env.TOKEN_SECRET, capability, Math.floor(Date.now() / 1000));
    if (!verified) throw new AppError(ErrorCode.FORBIDDEN, "this preview URL is not valid (altered, forged or expired)");
    const { claims, ref } = verified;
    const stub = threadStub(c.env, ref);
    const { url: runtime } = await fromRpc(stub.previewRoute(claims.inc, claims.port, claims.nonce));
    const headers = new Headers(c.req.raw.headers);
    // The client's credentials for the sandbox's app pass on; the worker's own routing and signing headers do not.
    headers.delete("host");
    for (const name of [...headers.keys()]) if (name.startsWith("x-threadbox-")) headers.delete(name);
    const body = c.req.method === "GET" || c.req.method === "HEAD" ? null : c.req.raw.body;
    const res = await runtimeClient(c.env).open(runtime, {
      method: c.req.method,
      path: runtimePaths.portProxy(ref, claims.port, rest + url.search),
      headers,
      body,
    });
    return passThrough(res, sameOriginAsApi(c.env, url) ? { "Content-Security-Policy": OPAQUE_ORIGIN } : {});
  });
  return app;
}
