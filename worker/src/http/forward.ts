import type { Context } from "hono";
import { type AppEnv, threadFromPath } from "./context.ts";
import { callThreadRuntime } from "./thread-runtime.ts";

const PASSED_HEADERS = ["content-type", "content-length", "last-modified"];

/**
 * Forwards a request to the thread's runtime (signed), for routes that need no per-thread ordering (files,
 * context management): the thread must exist for the caller; the runtime's answer passes through. Reads are
 * replayable on another runtime; writes are sent once (see RuntimeHealth.verdict).
 */
export async function forwardToRuntime(
  c: Context<AppEnv>,
  method: string,
  runtimePath: (tenant: string, thread: string) => string,
  body?: Uint8Array | string,
): Promise<Response> {
  const { stub, access } = threadFromPath(c);
  const replayable = method === "GET" || method === "HEAD";
  const res = await callThreadRuntime(c.env, stub, access, replayable, (t) => ({ method, path: runtimePath(t.tenant, t.id), body }));
  return new Response(res.body, {
    status: res.status,
    headers: Object.fromEntries([...res.headers].filter(([k]) => PASSED_HEADERS.includes(k))),
  });
}
