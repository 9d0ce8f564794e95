import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_SECRET } from "../runtime/harness.ts";
import { type Stack, startStack } from "./stack.ts";
import { type WorkerProcess, startWorker } from "./wrangler-dev.ts";

let stack: Stack;
let badWorker: WorkerProcess;

beforeAll(async () => {
  stack = await startStack();
  badWorker = await startWorker({ RUNTIME_URL: stack.runtime.url, HMAC_SECRET: "a-different-secret-entirely" });
});
afterAll(async () => {
  await badWorker?.stop();
  await stack?.stop();
});

// The shared HMAC code signs inside workerd and verifies in Node: the two halves agree byte for byte.
describe("worker in workerd → runtime", () => {
  it("reaches the runtime with a signature the runtime accepts", async () => {
    const res = await fetch(`${stack.worker.url}/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, runtimes: { total: 1, healthy: 1, instances: [{ index: 0, reachable: true }] } });
  });

  it("reports the runtime unreachable when its signature is refused", async () => {
    const res = await fetch(`${badWorker.url}/v1/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ok: false, runtimes: { total: 1, healthy: 0, instances: [{ index: 0, reachable: false }] } });
    expect(TEST_SECRET).not.toBe("a-different-secret-entirely");
  });

  it("asks for credentials before routing, then answers unknown routes with 404 in the error shape", async () => {
    const anonymous = await stack.api("GET", "/v1/nope", { auth: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("Bearer");
    const res = await stack.api("GET", "/v1/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });
});
