import { AppError, ErrorCode } from "../../../shared/src/index.ts";

export interface FailoverSteps<R extends { url: string }, T> {
  /** Call only what cannot have a duplicate effect again (see RuntimeHealth.verdict). */
  replayable: boolean;
  /** The runtime for this attempt (may probe, may move the thread); throws RUNTIME_UNAVAILABLE when none answers. */
  route: () => Promise<R>;
  send: (route: R) => Promise<T>;
  /** The call to `url` failed as a runtime that is down or unreachable does. */
  failed: (url: string) => Promise<void> | void;
}

/** A replayable call gets one more attempt, routed again: by then the failed runtime is suspect and gets probed. */
const REPLAYABLE_ATTEMPTS = 2;

export const isRuntimeFailure = (err: unknown): err is AppError => err instanceof AppError && err.code === ErrorCode.RUNTIME_UNAVAILABLE;

/**
 * One call to a thread's runtime with the failover rules: a runtime failure is reported (the runtime becomes
 * suspect); a replayable call is then routed and sent again; any other call ends with the failure, since it may have
 * run. Errors the runtime answered with (a missing file, a bad request) pass through untouched.
 */
export async function callWithFailover<R extends { url: string }, T>(steps: FailoverSteps<R, T>): Promise<{ url: string; value: T }> {
  const attempts = steps.replayable ? REPLAYABLE_ATTEMPTS : 1;
  for (let attempt = 1; ; attempt++) {
    const route = await steps.route();
    try {
      return { url: route.url, value: await steps.send(route) };
    } catch (err) {
      if (!isRuntimeFailure(err)) throw err;
      await steps.failed(route.url);
      if (!steps.replayable) throw new AppError(err.code, `${err.message} (the request may have reached it, so it is not sent again)`);
      if (attempt >= attempts) throw err;
    }
  }
}
