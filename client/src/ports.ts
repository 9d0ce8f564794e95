import { z } from "zod";
import { ExposedPortSchema, type ExposedPort } from "../../shared/src/index.ts";
import type { CallOptions } from "./options.ts";
import type { ThreadScope } from "./scope.ts";

const PortListSchema = z.object({ ports: z.array(ExposedPortSchema) });
const RevokedSchema = z.object({ port: z.number(), revoked: z.boolean() });

/**
 * Preview URLs: a port of the thread's sandbox as an HTTP(S) URL anyone holding it can open (HTTP and WebSocket),
 * until it expires or is revoked. The URL carries its own capability: hand it out, never the API key.
 */
export class Ports {
  readonly #scope: ThreadScope;

  constructor(scope: ThreadScope) {
    this.#scope = scope;
  }

  /** A URL for `port` (1–65535) inside the sandbox; `ttlSeconds` 60 s to 7 days (1 h by default). */
  async expose(port: number, opts: { ttlSeconds?: number } & CallOptions = {}): Promise<ExposedPort> {
    const json = { port, ...(opts.ttlSeconds === undefined ? {} : { ttl_seconds: opts.ttlSeconds }) };
    return this.#scope.ensure(
      () => this.#scope.http.json(ExposedPortSchema, "POST", this.#scope.path("/ports"), { json, signal: opts.signal }),
      opts.signal,
    );
  }

  async list(opts: CallOptions = {}): Promise<ExposedPort[]> {
    return (await this.#scope.http.json(PortListSchema, "GET", this.#scope.path("/ports"), { signal: opts.signal })).ports;
  }

  /** Every URL of `port` stops working at once; `revoked: false` when it was not exposed. */
  async revoke(port: number, opts: CallOptions = {}): Promise<{ port: number; revoked: boolean }> {
    return this.#scope.http.json(RevokedSchema, "DELETE", this.#scope.path(`/ports/${port}`), { signal: opts.signal });
  }
}
