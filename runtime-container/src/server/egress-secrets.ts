import type { MiddlewareHandler } from "hono";
import { AppError, EGRESS_SECRETS_HEADER, ErrorCode, openSecrets, threadKey, threadRef } from "../../../shared/src/index.ts";
import type { ThreadSettings } from "../sandbox/thread-settings.ts";

/**
 * A thread's egress secrets arrive sealed (shared/src/egress-seal.ts) in a header of its calls: opened here, after
 * the signature check, and kept in memory for the thread's egress proxy (never on disk, never logged). A runtime
 * that restarted has them again with the thread's next call. A blob that does not open for this thread is refused.
 */
export function egressSecrets(secret: string, settings: ThreadSettings): MiddlewareHandler {
  return async (c, next) => {
    const sealed = c.req.header(EGRESS_SECRETS_HEADER);
    const m = sealed ? /^\/threads\/([^/]+)\/([^/]+)(?:\/|$)/.exec(c.req.path) : null;
    if (sealed && m) {
      const key = threadKey(threadRef(decodeURIComponent(m[1] as string), decodeURIComponent(m[2] as string)));
      const secrets = await openSecrets(secret, key, sealed);
      if (!secrets) throw new AppError(ErrorCode.VALIDATION_FAILED, `${EGRESS_SECRETS_HEADER} does not open for this thread`);
      settings.setSecrets(key, secrets);
    }
    await next();
  };
}
