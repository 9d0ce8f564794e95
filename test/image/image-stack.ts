import { randomBytes } from "node:crypto";
import { RUNTIME_HEADER, sha256Hex, signRequest } from "../../shared/src/index.ts";
import { type WorkerProcess, freePort, startWorker } from "../e2e/wrangler-dev.ts";
import { TEST_SECRET } from "../runtime/harness.ts";
import { type Container, isolatedIds, runContainer } from "./container.ts";

/**
 * The worker (`wrangler dev`, real workerd) with the production image as its runtime: the container listens on the
 * host's loopback and the worker's RUNTIME_URL names it, as a URL fleet's would. Requests go through the public API.
 */
export interface ImageStack {
  container: Container;
  worker: WorkerProcess;
  key: string;
  api(method: string, path: string, opts?: { body?: unknown; raw?: string | Uint8Array; accept?: string }): Promise<Response>;
  /** A signed call straight to the runtime, as the worker's health probe makes it (for `/health` → layers). */
  runtime(method: string, path: string): Promise<Response>;
  /** Replaces the container with a new one on the same port (a restart: nothing of the old one's disk survives). */
  replace(env?: Record<string, string>): Promise<Container>;
  stop(): Promise<void>;
}

export async function startImageStack(opts: { env?: Record<string, string>; flags?: string[] } = {}): Promise<ImageStack> {
  const key = `tbx_img_${randomBytes(16).toString("hex")}`;
  const ids = isolatedIds();
  // The runtime's RUNTIME_ID is its RUNTIME_URL entry, which needs its port: pick it first, then start on it.
  const port = await freePort();
  const start = (env: Record<string, string> = {}) =>
    runContainer({ port, flags: opts.flags, env: { HMAC_SECRET: TEST_SECRET, RUNTIME_ID: `http://127.0.0.1:${port}`, ...ids, ...opts.env, ...env } });
  let container = await start();
  let worker: WorkerProcess;
  try {
    worker = await startWorker({
      RUNTIME_URL: container.url,
      HMAC_SECRET: TEST_SECRET,
      API_KEYS: JSON.stringify({ [await sha256Hex(key)]: "tenant-image" }),
    });
  } catch (err) {
    await container.remove();
    throw err;
  }
  const stack: ImageStack = {
    get container() {
      return container;
    },
    worker,
    key,
    api(method, path, o = {}) {
      const headers: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${key}` };
      if (o.accept) headers.accept = o.accept;
      const body = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
      return fetch(worker.url + path, { method, headers, body });
    },
    async runtime(method, path) {
      const extra = { [RUNTIME_HEADER]: container.url };
      const signed = await signRequest(TEST_SECRET, { method, path, body: new Uint8Array(), headers: extra });
      return fetch(container.url + path, { method, headers: { ...signed, ...extra } });
    },
    async replace(env = {}) {
      await container.stop();
      await container.remove();
      container = await start(env);
      return container;
    },
    async stop() {
      await worker.stop();
      await container.remove();
    },
  };
  return stack;
}

/** Creates a thread through the public API and returns its id. */
export async function createThread(stack: ImageStack, id: string): Promise<string> {
  const res = await stack.api("POST", "/v1/threads", { body: { id } });
  if (res.status !== 201) throw new Error(`POST /v1/threads ${id}: expected 201, got ${res.status}: ${await res.text()}`);
  return id;
}
