import { Hono } from "hono";
import { workerConfig } from "../config.ts";
import type { AppEnv } from "../http/context.ts";
import { runtimeClient } from "../runtime/client.ts";
import { fleetHealth } from "../runtime/fleet-health.ts";

/**
 * Liveness and each runtime's reachability (no auth; runtimes by their position in RUNTIME_URL, never their
 * addresses), from the isolate's view, refreshed at a bounded rate (runtime/fleet-health.ts). 200 while one runtime
 * answers: threads on the others move to it on their next call.
 */
export function healthRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/v1/health", async (c) => {
    const config = workerConfig(c.env);
    const client = runtimeClient(c.env);
    const probes = await fleetHealth(client, config.runtimeUrls);
    const healthy = probes.filter((p) => p.reachable).length;
    // A runtime running without its required isolation layers (ALLOW_DEGRADED_ISOLATION) says so: `degraded: true`.
    const flag = (degraded: boolean) => (degraded ? { degraded: true } : {});
    const instances = probes.map((p, index) => ({ index, reachable: p.reachable, ...flag(p.degraded) }));
    const body = { ok: healthy > 0, ...flag(probes.some((p) => p.degraded)), runtimes: { total: probes.length, healthy, instances } };
    return c.json(body, healthy > 0 ? 200 : 503);
  });
}
