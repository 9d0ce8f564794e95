import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RuntimeProcess, TEST_SECRET, startRuntime } from "../runtime/harness.ts";
import { type WorkerProcess, startWorker } from "./wrangler-dev.ts";

let rt: RuntimeProcess;
let worker: WorkerProcess;
let badWorker: WorkerProcess;

beforeAll(async () => {
  rt = await startRuntime();
  worker = await startWorker({ RUNTIME_URL: rt.url, HMAC_SECRET: TEST_SECRET });
  badWorker = await startWorker({ RUNTIME_URL: rt.url, HMAC_SECRET: "a-different-secret-entirely" });
});
afterAll(async () => {
  await worker?.stop();
  await badWorker?.stop();
  await rt?.stop();
});

// The shared HMAC code signs inside workerd and verifies in Node: the two halves agree byte for byte.
describe("worker in workerd → runtime", () => {
  it("reaches the runtime with a signature the runtime accepts", async () => {
    const res = await fetch(`${worker.url}/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, runtime: "ok" });
  });

  it("reports the runtime unreachable when its signature is refused", async () => {
    const res = await fetch(`${badWorker.url}/v1/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ok: true, runtime: "unreachable" });
  });

  it("answers unknown routes with 404 in the error shape", async () => {
    const res = await fetch(`${worker.url}/v1/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });
});
