/** A credential, or a function returning one (called before every request: a browser can refresh its token). */
export type Credential = string | (() => string | Promise<string>);

/** How a dropped execution stream is resumed (`GET …/executions/:id/events?after=<seq>`). */
export interface ResumeOptions {
  /** Attempts in a row without a new event before giving up with STREAM_INTERRUPTED (default 5). */
  maxRetries?: number;
  /** First back-off delay, doubled per attempt up to `maxDelayMs` (defaults 250 and 5000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface ThreadboxOptions {
  /** The worker's address, e.g. `http://127.0.0.1:8787` (a path prefix is kept). */
  baseUrl: string;
  /** A tenant's API key: every thread of the tenant (server side only; never ship it to a browser). */
  apiKey?: Credential;
  /** A thread token minted with `tokens.mint()`: one thread, for browsers and agents you do not trust with a key. */
  token?: Credential;
  /** A fetch to use instead of the global one (a Worker's service binding, a test double, a proxy agent). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Retries of a refused (429) or, for reads, failed (network, 502/503/504) request (default 2). */
  maxRetries?: number;
  /** Longest Retry-After honoured automatically, seconds (default 30): a longer wait is the caller's decision. */
  maxRetryAfter?: number;
  resume?: ResumeOptions;
  /**
   * Create a thread on first use when a call answers THREAD_NOT_FOUND, then retry once (default: true with an API
   * key; a token cannot create threads).
   */
  autoCreate?: boolean;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

/** Options every call takes. */
export interface CallOptions {
  /** Stops the call (and stops reading a stream); the execution itself keeps running: cancel it for that. */
  signal?: AbortSignal;
}

export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Exponential back-off with jitter: attempt 1 waits about `base`, each next one about twice as long. */
export function backoff(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
