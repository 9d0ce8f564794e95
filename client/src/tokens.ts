import { z } from "zod";
import { RevokedSchema, TokenResponseSchema } from "../../shared/src/index.ts";
import { type Http, seg } from "./http.ts";
import type { CallOptions } from "./options.ts";
import type { ThreadScope } from "./scope.ts";
import type { Thread } from "./thread.ts";

export type ThreadToken = z.infer<typeof TokenResponseSchema>;

/**
 * Short-lived tokens for one thread, to hand to a browser or an agent you do not trust with an API key (minting and
 * revoking take a key). A token reaches only its thread, cannot mint tokens, stops working when the thread is deleted
 * (even if created again under the same id) and may delete the thread only when minted with `canDelete`.
 */
export class Tokens {
  readonly #http: Http;
  readonly #scope: (thread: string) => ThreadScope;

  constructor(http: Http, scope: (thread: string) => ThreadScope) {
    this.#http = http;
    this.#scope = scope;
  }

  /** A token for `thread` living `ttlSeconds` (60–86400, default 900); the thread is created first if it is new. */
  async mint(thread: string | Thread, ttlSeconds = 900, opts: CallOptions & { canDelete?: boolean } = {}): Promise<ThreadToken> {
    const id = typeof thread === "string" ? thread : thread.id;
    const body = { thread: id, ttl_seconds: ttlSeconds, can_delete: opts.canDelete ?? false };
    const call = () => this.#http.json(TokenResponseSchema, "POST", "/v1/tokens", { json: body, signal: opts.signal });
    return this.#scope(id).ensure(call, opts.signal);
  }

  /** Every token minted for `thread` so far stops working. */
  async revoke(thread: string | Thread, opts: CallOptions = {}): Promise<void> {
    const id = typeof thread === "string" ? thread : thread.id;
    await this.#http.json(RevokedSchema, "POST", `/v1/threads/${seg(id)}/tokens/revoke`, { signal: opts.signal });
  }

  /** Every token of the tenant stops working (all threads). */
  async revokeAll(opts: CallOptions = {}): Promise<void> {
    await this.#http.json(z.object({ revoked: z.literal(true) }), "POST", "/v1/tokens/revoke", { signal: opts.signal });
  }
}
