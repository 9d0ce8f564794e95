import type { ThreadDO } from "../do/thread-do.ts";

/** The Durable Object is named from (tenant, thread): another tenant's thread of the same id is another object. */
export function threadStub(env: Env, tenant: string, thread: string): DurableObjectStub<ThreadDO> {
  return env.THREADS.get(env.THREADS.idFromName(`${tenant}:${thread}`));
}
