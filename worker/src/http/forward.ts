import type { Context } from "hono";
import type { ThreadRef } from "../../../shared/src/index.ts";
import { runtimeClient } from "../runtime/client.ts";
import { callWithFailover } from "../runtime/failover.ts";
import { type AppEnv, fromRpc, threadFromPath } from "./context.ts";

const PASSED_HEADERS = ["content-type", "content-length", "last-modified"];

/**
 * Forwards a file request straight to the thread's runtime, signed (big bodies stay off Durable Object RPC): the
 * thread's object routes it (moving the thread when its runtime does not answer, and checking the caller's access)
 * and hears of failures; the failover rules are the executor's own (runtime/failover.ts). Reads may be sent again to
 * another runtime; writes are sent once (see RuntimeHealth.verdict). The runtime's answer passes through.
 */
export async function forwardToRuntime(
  c: Context<AppEnv>,
  method: string,
  runtimePath: (ref: ThreadRef) => string,
  body?: Uint8Array | string,
): Promise<Response> {
  const { ref, stub, access } = threadFromPath(c);
  const replayable = method === "GET" || method === "HEAD";
  const client = runtimeClient(c.env);
  const { value: res } = await callWithFailover({
    replayable,
    route: () => fromRpc(stub.route(access, replayable)),
    send: ({ url }) => client.call(url, { method, path: runtimePath(ref), body }),
    failed: async (url) => void (await fromRpc(stub.runtimeFailed(url))),
  });
  return new Response(res.body, {
    status: res.status,
    headers: Object.fromEntries([...res.headers].filter(([k]) => PASSED_HEADERS.includes(k))),
  });
}
