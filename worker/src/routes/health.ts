import { Hono } from "hono";
import { runtimePaths } from "../../../shared/src/index.ts";
import { workerConfig } from "../config.ts";
import type { AppEnv } from "../http/context.ts";
import { runtimeClient } from "../runtime/client.ts";

/** Liveness and runtime reachability (no auth; no runtime addresses in the answer). */
export function healthRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/v1/health", async (c) => {
    const config = workerConfig(c.env);
    const client = runtimeClient(c.env);
    const checks = await Promise.all(
      config.runtimeUrls.map((url) =>
        client
          .call(url, { method: "GET", path: runtimePaths.health(), signal: AbortSignal.timeout(3000) })
          .then(() => true)
          .catch(() => false),
      ),
    );
    const healthy = checks.filter(Boolean).length;
    return c.json({ ok: healthy > 0, runtimes: { total: checks.length, healthy } }, healthy > 0 ? 200 : 503);
  });
}
