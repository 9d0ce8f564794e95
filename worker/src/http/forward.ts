import type { Context } from "hono";
import type { ThreadRef } from "../../../shared/src/index.ts";
import { runtimeClient } from "../runtime/client.ts";
import { callWithFailover } from "../runtime/failover.ts";
import { type AppEnv, type ThreadTarget, fromRpc, threadFromPath } from "./context.ts";

const PASSED_HEADERS = ["content-type", "content-length", "last-modified"];

/**
 * A file request straight to the thread's runtime, signed (big bodies stay off Durable Object RPC): the thread's
 * object routes it (moving the thread when its runtime does not answer, checking the caller's access, and creating
 * the thread on an API key's first write) and hears of failures; the failover rules are the executor's own
 * (runtime/failover.ts). Reads may be sent again to another runtime; writes are sent once (see RuntimeHealth.verdict).
 * The runtime's errors are thrown as AppErrors; its answer is returned as it came.
 */
export async function callRuntime(
  env: Env,
  target: ThreadTarget,
  call: { method: string; path: string; body?: Uint8Array | string },
): Promise<Response> {
  const { stub, access } = target;
  const replayable = call.method === "GET" || call.method === "HEAD";
  // Only a write creates a thread; reading or deleting in one that does not exist is a 404.
  const createAs = call.method === "PUT" ? target.createAs : undefined;
  const client = runtimeClient(env);
  const { value } = await callWithFailover({
    replayable,
    route: () => fromRpc(stub.route(access, replayable, createAs)),
    send: ({ url }) => client.call(url, call),
    failed: async (url) => void (await fromRpc(stub.runtimeFailed(url))),
  });
  return value;
}

/** callRuntime for the thread in the route's path; the runtime's answer passes through. */
export async function forwardToRuntime(
  c: Context<AppEnv>,
  method: string,
  runtimePath: (ref: ThreadRef) => string,
  body?: Uint8Array | string,
): Promise<Response> {
  const target = threadFromPath(c);
  const res = await callRuntime(c.env, target, { method, path: runtimePath(target.ref), ...(body === undefined ? {} : { body }) });
  return new Response(res.body, {
    status: res.status,
    headers: Object.fromEntries([...res.headers].filter(([k]) => PASSED_HEADERS.includes(k))),
  });
}
