import type { ThreadAccess } from "../do/access.ts";
import type { ThreadDO } from "../do/thread-do.ts";
import type { ThreadRow } from "../do/store.ts";
import { type RuntimeCall, runtimeClient } from "../runtime/client.ts";
import { callWithFailover } from "../runtime/failover.ts";
import { call } from "./context.ts";

/**
 * A call the worker makes straight to a thread's runtime (big file bodies stay off Durable Object RPC): the thread's
 * object routes it (and moves the thread when its runtime does not answer) and hears of failures; the failover rules
 * are the executor's own (runtime/failover.ts). `replayable`: see RuntimeHealth.verdict. `access`: the caller's,
 * checked by the object on each routing.
 */
export async function callThreadRuntime(
  env: Env,
  stub: DurableObjectStub<ThreadDO>,
  access: ThreadAccess,
  replayable: boolean,
  req: (thread: ThreadRow) => RuntimeCall,
): Promise<Response> {
  const client = runtimeClient(env);
  const { value } = await callWithFailover({
    replayable,
    route: () => call(stub.route(access, replayable)),
    send: ({ url, thread }) => client.call(url, req(thread)),
    failed: async (url) => void (await call(stub.runtimeFailed(url))),
  });
  return value;
}
