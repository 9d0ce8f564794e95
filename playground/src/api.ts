import { Threadbox, ThreadboxError } from "threadbox/client";
import type { Credential } from "./session.ts";

/**
 * The SDK on this worker's own origin. Threads are created only by the page's "Create thread" (no creation on first
 * use), so a mistyped id says "not found" instead of making a thread.
 */
export function clientFor(credential: Credential): Threadbox {
  const base = { baseUrl: location.origin, autoCreate: false };
  return new Threadbox(credential.kind === "key" ? { ...base, apiKey: credential.value } : { ...base, token: credential.value });
}

/** The thread and expiry a token names (its payload, read without checking: the worker checks it). */
export function tokenClaims(token: string): { thread: string; exp: number } | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const claims = JSON.parse(json) as { thread?: unknown; exp?: unknown };
    return typeof claims.thread === "string" && typeof claims.exp === "number" ? { thread: claims.thread, exp: claims.exp } : null;
  } catch {
    return null;
  }
}

/** A sign-in check: asks for a thread's state; only UNAUTHORIZED (or a malformed token) means a bad credential. */
export async function checkCredential(tb: Threadbox, credential: Credential): Promise<{ ok: true; thread?: string } | { ok: false; message: string }> {
  let thread: string | undefined;
  if (credential.kind === "token") {
    thread = tokenClaims(credential.value)?.thread;
    if (!thread) return { ok: false, message: "This is not a thread token (a JWT minted with POST /v1/tokens)." };
  }
  try {
    await tb.thread(thread ?? "playground-sign-in-check").state();
  } catch (err) {
    if (err instanceof ThreadboxError && err.code === "UNAUTHORIZED") return { ok: false, message: `Not accepted: ${err.message}` };
    // A key asking for a thread that does not exist gets the answer expected of a valid key.
    const expected = credential.kind === "key" && err instanceof ThreadboxError && err.code === "THREAD_NOT_FOUND";
    if (!expected) throw err;
  }
  return thread === undefined ? { ok: true } : { ok: true, thread };
}
