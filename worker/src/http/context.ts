import type { Context } from "hono";
import { AppError, ErrorCode, ThreadIdSchema, type ThreadRef, threadRef } from "../../../shared/src/index.ts";
import { type AuthEnv, accessOf, requireThreadAccess } from "../auth/middleware.ts";
import type { ThreadAccess } from "../do/access.ts";
import { type RpcResult, unwrap } from "../do/rpc.ts";
import type { ThreadDO } from "../do/thread-do.ts";
import { threadStub } from "./thread-stub.ts";

export type AppEnv = { Bindings: Env; Variables: AuthEnv["Variables"] & { requestId: string } };

export interface ThreadTarget {
  ref: ThreadRef;
  stub: DurableObjectStub<ThreadDO>;
  /** What the caller reaches in the thread's object: pass it to every call (it checks a token's grant). */
  access: ThreadAccess;
}

/** The thread named in the path (or `id`), checked against the caller's key or token: validated here, once. */
export function threadFromPath(c: Context<AppEnv>, id = c.req.param("thread")): ThreadTarget {
  // An invalid id cannot name an existing thread: the same 404 as a missing one.
  if (!ThreadIdSchema.safeParse(id).success) throw new AppError(ErrorCode.THREAD_NOT_FOUND, `thread ${id ?? ""} not found`);
  const principal = c.get("principal");
  const ref = threadRef(principal.tenant, id as string);
  requireThreadAccess(principal, ref.thread);
  return { ref, stub: threadStub(c.env, ref), access: accessOf(principal) };
}

/** The value of a Durable Object call, or its error thrown again as the AppError it was (RPC drops error fields). */
export async function fromRpc<T>(result: Promise<RpcResult<T>>): Promise<T> {
  return unwrap(await result);
}
