import { randomBytes } from "node:crypto";
import { sha256Hex } from "../../shared/src/index.ts";
import { type RuntimeProcess, TEST_SECRET, startRuntime } from "../runtime/harness.ts";
import { type WorkerProcess, freePort, startWorker } from "./wrangler-dev.ts";

export interface Tenant {
  name: string;
  key: string;
}

export interface Stack {
  /** The first runtime (the only one unless `runtimes` was asked for). */
  runtime: RuntimeProcess;
  /** Every runtime, in RUNTIME_URL order. */
  runtimes: RuntimeProcess[];
  worker: WorkerProcess;
  tenants: { a: Tenant; b: Tenant };
  /** A request to the public API; `auth` is an API key or token (default: tenant a's key), null for none. */
  api(method: string, path: string, opts?: { body?: unknown; raw?: string | Uint8Array; auth?: string | null; accept?: string }): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * The whole stack for real: runtime processes on loopback and the worker in workerd (`wrangler dev`). With
 * `runtimes: N` (default 1) the worker's RUNTIME_URL lists N runtimes that share one WORKSPACES_ROOT (the first
 * one's; locally it stands in for the shared bucket) and the HMAC secret, each with its own STATE_DIR (venvs, tmp).
 */
export async function startStack(
  opts: { worker?: Record<string, string>; runtime?: Record<string, string>; runtimes?: number } = {},
): Promise<Stack> {
  const tenants = {
    a: { name: "tenant-a", key: `tbx_a_${randomBytes(16).toString("hex")}` },
    b: { name: "tenant-b", key: `tbx_b_${randomBytes(16).toString("hex")}` },
  };
  const apiKeys = JSON.stringify({
    [await sha256Hex(tenants.a.key)]: tenants.a.name,
    [await sha256Hex(tenants.b.key)]: tenants.b.name,
  });
  // Each runtime knows its own RUNTIME_URL entry (RUNTIME_ID), as in a deployment: it refuses requests for another.
  const named = async () => {
    const port = await freePort();
    return { ...opts.runtime, PORT: String(port), RUNTIME_ID: `http://127.0.0.1:${port}` };
  };
  const runtime = await startRuntime(await named());
  const runtimes = [runtime];
  while (runtimes.length < (opts.runtimes ?? 1)) {
    const more = await startRuntime({ ...(await named()), WORKSPACES_ROOT: runtime.workspaces });
    runtimes.push({ ...more, workspaces: runtime.workspaces });
  }
  const worker = await startWorker({
    RUNTIME_URL: runtimes.map((r) => r.url).join(","),
    HMAC_SECRET: TEST_SECRET,
    API_KEYS: apiKeys,
    ...opts.worker,
  });
  return {
    runtime,
    runtimes,
    worker,
    tenants,
    api(method, path, o = {}) {
      const auth = o.auth === undefined ? tenants.a.key : o.auth;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (auth !== null) headers.authorization = `Bearer ${auth}`;
      if (o.accept) headers.accept = o.accept;
      const body = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
      return fetch(worker.url + path, { method, headers, body });
    },
    async stop() {
      await worker.stop();
      // The first runtime last: it owns the shared workspaces directory.
      for (const rt of [...runtimes].reverse()) await rt.stop();
    },
  };
}
