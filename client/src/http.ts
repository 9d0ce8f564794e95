import type { z } from "zod";
import { ThreadboxError } from "./errors.ts";
import { type Credential, type ResumeOptions, type ThreadboxOptions, backoff, sleep } from "./options.ts";

export const NDJSON = "application/x-ndjson";

export type RequestBody = string | Uint8Array | ArrayBuffer | Blob;

export interface RequestOptions {
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as raw bytes (application/octet-stream). */
  body?: RequestBody;
  accept?: string;
  signal?: AbortSignal | undefined;
}

/** 502/503/504: the edge or a runtime was briefly away; a read may simply be sent again. */
const TRANSIENT = new Set([502, 503, 504]);

/**
 * The one place requests are made: base URL, credentials, typed errors and retries. A 429 (rate limit, full queue)
 * means the request was refused, so any method is sent again after Retry-After; a network failure or a 502/503/504
 * is retried only for reads, since a write (an execution) may already have happened.
 */
export class Http {
  readonly #base: string;
  readonly #credential: Credential | undefined;
  readonly #fetch: (input: string, init: RequestInit) => Promise<Response>;
  readonly #headers: Record<string, string>;
  readonly #maxRetries: number;
  readonly #maxRetryAfter: number;
  readonly resume: Required<ResumeOptions>;
  /** Whether the credential is an API key (which may create threads and mint tokens). */
  readonly viaKey: boolean;

  constructor(opts: ThreadboxOptions) {
    if (!opts.baseUrl) throw new TypeError("Threadbox: baseUrl is required");
    if (opts.apiKey === undefined && opts.token === undefined) throw new TypeError("Threadbox: an apiKey or a token is required");
    if (opts.apiKey !== undefined && opts.token !== undefined) throw new TypeError("Threadbox: give an apiKey or a token, not both");
    this.#base = opts.baseUrl.replace(/\/+$/, "");
    this.#credential = opts.apiKey ?? opts.token;
    this.viaKey = opts.apiKey !== undefined;
    // Resolved per call, never stored unbound: a detached `fetch` throws "Illegal invocation" in browsers and Workers.
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#headers = opts.headers ?? {};
    this.#maxRetries = opts.maxRetries ?? 2;
    this.#maxRetryAfter = opts.maxRetryAfter ?? 30;
    this.resume = { maxRetries: 5, baseDelayMs: 250, maxDelayMs: 5000, ...opts.resume };
  }

  url(path: string): string {
    return this.#base + path;
  }

  /** The answer when it is successful (2xx), a ThreadboxError otherwise. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const read = method === "GET" || method === "HEAD";
    for (let attempt = 1; ; attempt++) {
      const last = attempt > this.#maxRetries;
      let res: Response;
      try {
        res = await this.#fetch(this.url(path), { method, headers: await this.#headersFor(opts), body: bodyOf(opts), signal: opts.signal ?? null });
      } catch (err) {
        opts.signal?.throwIfAborted();
        const error = new ThreadboxError({
          code: "NETWORK_ERROR",
          status: 0,
          message: `${method} ${this.url(path)} failed: ${err instanceof Error ? err.message : String(err)}`,
          cause: err,
        });
        if (!read || last) throw error;
        await sleep(backoff(attempt, this.resume.baseDelayMs, this.resume.maxDelayMs), opts.signal);
        continue;
      }
      if (res.ok) return res;
      const error = await ThreadboxError.fromResponse(res);
      const refused = res.status === 429 && (error.retryAfter ?? 1) <= this.#maxRetryAfter;
      if (last || !(refused || (read && TRANSIENT.has(res.status)))) throw error;
      const waitMs = refused ? Math.max(1, error.retryAfter ?? 1) * 1000 : backoff(attempt, this.resume.baseDelayMs, this.resume.maxDelayMs);
      await sleep(waitMs, opts.signal);
    }
  }

  /** A JSON answer, checked against its schema (a mismatch is INVALID_RESPONSE, not a crash later on). */
  async json<S extends z.ZodType>(schema: S, method: string, path: string, opts: RequestOptions = {}): Promise<z.infer<S>> {
    const res = await this.request(method, path, { accept: "application/json", ...opts });
    const text = await res.text();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw ThreadboxError.invalidResponse(`${method} ${path}: the answer is not JSON`, res.status, err);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw ThreadboxError.invalidResponse(`${method} ${path}: unexpected answer: ${parsed.error.message}`, res.status, parsed.error);
    }
    return parsed.data;
  }

  /** The credential as it is now (a function is asked again): a WebSocket offers it as a subprotocol. */
  async credential(): Promise<string> {
    return (typeof this.#credential === "function" ? await this.#credential() : this.#credential) ?? "";
  }

  async #headersFor(opts: RequestOptions): Promise<Record<string, string>> {
    const credential = typeof this.#credential === "function" ? await this.#credential() : this.#credential;
    const headers: Record<string, string> = { ...this.#headers, authorization: `Bearer ${credential ?? ""}` };
    if (opts.accept) headers.accept = opts.accept;
    if (opts.json !== undefined) headers["content-type"] = "application/json";
    else if (opts.body !== undefined) headers["content-type"] = "application/octet-stream";
    return headers;
  }
}

function bodyOf(opts: RequestOptions): BodyInit | null {
  if (opts.json !== undefined) return JSON.stringify(opts.json);
  if (opts.body === undefined) return null;
  // A Uint8Array view may be part of a larger buffer; send exactly its bytes.
  if (opts.body instanceof Uint8Array) return opts.body.slice().buffer;
  return opts.body;
}

/** Path segments of the API (thread ids, execution ids, context ids) are sent encoded. */
export const seg = (value: string) => encodeURIComponent(value);
