import { runtimePaths } from "../../../shared/src/index.ts";
import type { RuntimeClient } from "./client.ts";

/** A probe that takes longer than this counts as a failure (a runtime that slow cannot serve calls either). */
export const PROBE_TIMEOUT_MS = 3_000;

/** The runtime's cheap, signed `GET /health`: true when it answers 2xx in time. */
export async function probeRuntime(client: RuntimeClient, url: string): Promise<boolean> {
  return (await probeRuntimeHealth(client, url)).reachable;
}

/** The same probe, with whether the runtime runs with isolation layers missing (ALLOW_DEGRADED_ISOLATION). */
export async function probeRuntimeHealth(client: RuntimeClient, url: string): Promise<{ reachable: boolean; degraded: boolean }> {
  try {
    const res = await client.call(url, { method: "GET", path: runtimePaths.health(), signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const body = (await res.json().catch(() => ({}))) as { degraded?: unknown };
    return { reachable: true, degraded: body.degraded === true };
  } catch {
    return { reachable: false, degraded: false };
  }
}
