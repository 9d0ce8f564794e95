import { type ImportPolicy, type NetworkSetting, ThreadIdSchema } from "../../shared/src/index.ts";
import { ThreadboxError } from "./errors.ts";
import { Http } from "./http.ts";
import { Mounts } from "./mounts.ts";
import type { CallOptions, ThreadboxOptions } from "./options.ts";
import { ThreadScope, type ThreadSettings, createThread } from "./scope.ts";
import { Thread } from "./thread.ts";
import { Tokens } from "./tokens.ts";

/** `createThread`'s options: an id, settings, and `from` to fork another thread of the tenant (at a checkpoint, or as it is now). */
export type CreateThreadOptions = CallOptions & {
  id?: string;
  network?: NetworkSetting;
  mounts?: { name: string; path?: string }[];
  importPolicy?: ImportPolicy;
  from?: { thread: string; checkpoint?: string };
};

export interface ThreadHandleOptions {
  /**
   * The network the thread gets if this handle creates it on first use ("none": no network at all; an egress policy
   * `{allow, deny?, secrets?}`: only through the runtime's egress proxy, see the README's "Egress policy").
   */
  network?: NetworkSetting;
  /** Overrides ThreadboxOptions.autoCreate for this thread. */
  autoCreate?: boolean;
}

/**
 * The threadbox client: `new Threadbox({ baseUrl, apiKey })` on a server, `{ baseUrl, token }` in a browser or any
 * code you hand one thread to. fetch only, so it runs in Node ≥ 20, Workers, Deno, Bun and browsers.
 */
export class Threadbox {
  readonly tokens: Tokens;
  /** The tenant's shared read-only mounts (API keys only). */
  readonly mounts: Mounts;
  /** `tb.threads.create(opts)`: the same as `createThread`. */
  readonly threads: { create(opts?: CreateThreadOptions): Promise<Thread> };
  readonly #http: Http;
  readonly #autoCreate: boolean;

  constructor(opts: ThreadboxOptions) {
    this.#http = new Http(opts);
    this.#autoCreate = opts.autoCreate ?? this.#http.viaKey;
    this.mounts = new Mounts(this.#http);
    this.tokens = new Tokens(this.#http, (id) => this.#scope(id, {}));
    this.threads = { create: (opts) => this.createThread(opts) };
  }

  /** A handle on a thread; no request is made until it is used (and with an API key it is created then if new). */
  thread(id: string, opts: ThreadHandleOptions = {}): Thread {
    return new Thread(this.#http, checkedId(id), this.#settings(opts));
  }

  /**
   * Creates a thread (a new UUID unless `id` is given; 409 THREAD_EXISTS if it already exists) and sets it up;
   * `importPolicy`: the Python modules its code may (not) import (README, *Import policy*); `mounts`: the tenant's
   * read-only mounts it sees (`[{ name: "pdf" }]` appears at `/.skills/pdf`; README, *Shared read-only mounts*);
   * `from`: a fork (README, *Checkpoints, restore and fork*).
   */
  async createThread(opts: CreateThreadOptions = {}): Promise<Thread> {
    const id = opts.id === undefined ? undefined : checkedId(opts.id);
    const from = opts.from && { thread: checkedId(opts.from.thread), checkpoint: opts.from.checkpoint };
    const state = await createThread(this.#http, { id, network: opts.network, import_policy: opts.importPolicy, mounts: opts.mounts, from }, opts.signal);
    return new Thread(this.#http, state.id, this.#settings({ network: opts.network }));
  }

  #settings(opts: ThreadHandleOptions): ThreadSettings {
    return { autoCreate: opts.autoCreate ?? this.#autoCreate, network: opts.network };
  }

  #scope(id: string, opts: ThreadHandleOptions): ThreadScope {
    return new ThreadScope(this.#http, checkedId(id), this.#settings(opts));
  }
}

function checkedId(id: string): string {
  const parsed = ThreadIdSchema.safeParse(id);
  if (!parsed.success) {
    throw new ThreadboxError({ code: "VALIDATION_FAILED", status: 400, message: `invalid thread id "${id}": a UUID or 1–64 of A-Z a-z 0-9 _ -` });
  }
  return parsed.data;
}
