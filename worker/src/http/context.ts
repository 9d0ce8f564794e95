import type { Context } from "hono";
import { AppError, ErrorCode, ThreadIdSchema, type ThreadRef, threadRef } from "../../../shared/src/index.ts";
import { type AuthEnv, type Principal, accessOf, requireThreadAccess } from "../auth/middleware.ts";
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
  /**
   * For an API key, the thread itself: pass it to the calls that create a thread on first use (an execution, a file
   * write, a new context). Undefined for a token, which names an existing thread by construction.
   */
  createAs: ThreadRef | undefined;
}

/** The thread `id` as `principal` reaches it: validated here, once (the HTTP routes and the MCP tools alike). */
export function threadTarget(env: Env, principal: Principal, id: string | undefined): ThreadTarget {
  // An invalid id cannot name an existing thread: the same 404 as a missing one.
  if (!ThreadIdSchema.safeParse(id).success) throw new AppError(ErrorCode.THREAD_NOT_FOUND, `thread ${id ?? ""} not found`);
  const ref = threadRef(principal.tenant, id as string);
  requireThreadAccess(principal, ref.thread);
  return { ref, stub: threadStub(env, ref), access: accessOf(principal), createAs: principal.via === "key" ? ref : undefined };
}

/** The thread named in the path (or `id`), checked against the caller's key or token. */
export function threadFromPath(c: Context<AppEnv>, id = c.req.param("thread")): ThreadTarget {
  return threadTarget(c.env, c.get("principal"), id);
}

/** The value of a Durable Object call, or its error thrown again as the AppError it was (RPC drops error fields). */
export async function fromRpc<T>(result: Promise<RpcResult<T>>): Promise<T> {
  return unwrap(await result);
}
