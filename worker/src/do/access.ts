import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { ThreadRow } from "./store.ts";

/**
 * What a call may reach in a thread's object: `null` for an API key (every thread of its tenant; the object's name
 * already scopes the tenant), or the grant a thread token carries: the incarnation of the thread it was minted for,
 * and the thread's token generation at the time. The object checks it on every call made with a token.
 */
export type ThreadAccess = { incarnation: string; generation: number } | null;

export function noSuchThread(): AppError {
  return new AppError(ErrorCode.THREAD_NOT_FOUND, "no such thread");
}

/**
 * The thread, when `access` reaches it. A token for an earlier incarnation (the thread was deleted and created again
 * under the same id) finds nothing, exactly as for a missing thread; a token minted before the thread's tokens were
 * revoked is refused as revoked.
 */
export function accessThread(thread: ThreadRow | null, access: ThreadAccess): ThreadRow {
  if (!thread) throw noSuchThread();
  if (access === null) return thread;
  if (access.incarnation !== thread.incarnation) throw noSuchThread();
  if (access.generation !== thread.token_generation) {
    throw new AppError(ErrorCode.UNAUTHORIZED, "this token was revoked; ask for a new one");
  }
  return thread;
}
