import http from "node:http";
import type { TestProject } from "vitest/node";
import { type Stack, startStack } from "../e2e/stack.ts";
import { freePort } from "../e2e/wrangler-dev.ts";

/**
 * One stack for every browser test file (each wrangler dev start is slow): a real runtime and the worker in workerd,
 * whose CORS_ORIGINS lists one of two plain pages on other loopback ports (the cross-origin test's "browser apps").
 */
declare module "vitest" {
  export interface ProvidedContext {
    workerUrl: string;
    apiKey: string;
    listedOrigin: string;
    otherOrigin: string;
  }
}

/** A page of another origin: nothing but an empty document for the test to run its script in. */
async function plainPage(): Promise<{ origin: string; close(): Promise<void> }> {
  const port = await freePort();
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>another app</title><p>another app</p>");
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let stack: Stack | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const listed = await plainPage();
  const other = await plainPage();
  stack = await startStack({ worker: { CORS_ORIGINS: listed.origin } });
  project.provide("workerUrl", stack.worker.url);
  project.provide("apiKey", stack.tenants.a.key);
  project.provide("listedOrigin", listed.origin);
  project.provide("otherOrigin", other.origin);
  return async () => {
    await stack?.stop();
    await listed.close();
    await other.close();
  };
}
