import type { Context } from "hono";
import { runtimeClient } from "../runtime/client.ts";
import { type AppEnv, call, threadFromPath } from "./context.ts";

const PASSED_HEADERS = ["content-type", "content-length", "last-modified"];

/**
 * Forwards a request to the thread's runtime (signed), for routes that need no per-thread ordering (files,
 * context management): the thread must exist for the caller; the runtime's answer passes through.
 */
export async function forwardToRuntime(
  c: Context<AppEnv>,
  method: string,
  runtimePath: (tenant: string, thread: string) => string,
  body?: Uint8Array | string,
): Promise<Response> {
  const { stub } = threadFromPath(c);
  const { thread } = await call(stub.describe());
  const res = await runtimeClient(c.env).call(thread.runtime_url, { method, path: runtimePath(thread.tenant, thread.id), body });
  return new Response(res.body, {
    status: res.status,
    headers: Object.fromEntries([...res.headers].filter(([k]) => PASSED_HEADERS.includes(k))),
  });
}
