import type { Context } from "hono";
import { AppError, ErrorCode, ThreadIdSchema } from "../../../shared/src/index.ts";
import { type AuthEnv, accessOf, requireThreadAccess } from "../auth/middleware.ts";
import { type RpcResult, unwrap } from "../do/rpc.ts";
import { threadStub } from "./thread-stub.ts";

export type AppEnv = { Bindings: Env; Variables: AuthEnv["Variables"] & { requestId: string } };

/**
 * The thread named in the path, checked against the caller's key or token, its Durable Object, and the caller's
 * `access` to pass to every call of that object (it checks a token's grant against the thread it holds).
 */
export function threadFromPath(c: Context<AppEnv>, id = c.req.param("thread")) {
  const parsed = ThreadIdSchema.safeParse(id);
  // An invalid id cannot name an existing thread: the same 404 as a missing one.
  if (!parsed.success) throw new AppError(ErrorCode.THREAD_NOT_FOUND, `thread ${id ?? ""} not found`);
  const principal = c.get("principal");
  requireThreadAccess(principal, parsed.data);
  const stub = threadStub(c.env, principal.tenant, parsed.data);
  return { id: parsed.data, tenant: principal.tenant, stub, access: accessOf(principal) };
}

export async function call<T>(result: Promise<RpcResult<T>>): Promise<T> {
  return unwrap(await result);
}
