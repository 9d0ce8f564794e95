import { type ThreadRef, objectName } from "../../../shared/src/index.ts";
import type { ThreadDO } from "../do/thread-do.ts";

/** The thread's Durable Object, named from its ThreadRef: another tenant's thread of the same id is another object. */
export function threadStub(env: Env, ref: ThreadRef): DurableObjectStub<ThreadDO> {
  return env.THREADS.get(env.THREADS.idFromName(objectName(ref)));
}
