import { type ImportPolicy, type NetworkSetting, type ThreadState, ThreadStateSchema } from "../../shared/src/index.ts";
import { ThreadboxError } from "./errors.ts";
import { type Http, NDJSON, seg } from "./http.ts";
import { type ResultKind, type ResultOptions, type ResultValues, type RunCallbacks, type StreamOptions, collect } from "./run.ts";
import { ExecutionStream } from "./stream.ts";

export interface ThreadSettings {
  /** Create the thread when a call finds it missing (see ThreadboxOptions.autoCreate). */
  autoCreate: boolean;
  /** The network mode a thread created on first use gets. */
  network?: NetworkSetting | undefined;
}

/** `POST /v1/threads`: 201 with the new thread's state. */
export function createThread(
  http: Http,
  body: {
    id?: string | undefined;
    network?: NetworkSetting | undefined;
    import_policy?: ImportPolicy | undefined;
    mounts?: { name: string; path?: string }[] | undefined;
    from?: { thread: string; checkpoint?: string | undefined } | undefined;
  },
  signal?: AbortSignal,
): Promise<ThreadState> {
  return http.json(ThreadStateSchema, "POST", "/v1/threads", { json: body, signal });
}

/** What every part of a thread's API shares: its paths, creation on first use, and executions. */
export class ThreadScope {
  readonly http: Http;
  readonly id: string;
  readonly #settings: ThreadSettings;
  /** The creation this handle makes before its first call when its thread has settings (see ensure). */
  #created: Promise<void> | undefined;

  constructor(http: Http, id: string, settings: ThreadSettings) {
    this.http = http;
    this.id = id;
    this.#settings = settings;
  }

  path(suffix = ""): string {
    return `/v1/threads/${seg(this.id)}${suffix}`;
  }

  /**
   * Runs a call on the thread; if the thread does not exist yet (THREAD_NOT_FOUND) and creation on first use is on,
   * creates it and runs the call once more. Another caller creating it first (409 THREAD_EXISTS) is as good.
   */
  async ensure<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    // The API creates a thread on an API key's first execution or write, with default settings: a handle with
    // settings of its own creates its thread before its first call instead (once; an existing thread is kept as is).
    if (this.#settings.autoCreate && this.#settings.network !== undefined && this.#settings.network !== "default") {
      this.#created ??= this.#create(signal).catch((err: unknown) => {
        this.#created = undefined;
        throw err;
      });
      await this.#created;
    }
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ThreadboxError) || err.code !== "THREAD_NOT_FOUND" || !this.#settings.autoCreate) throw err;
    }
    await this.#create(signal);
    return call();
  }

  /** `POST /v1/threads` with the handle's settings; another caller creating it first (409) is as good. */
  async #create(signal: AbortSignal | undefined): Promise<void> {
    try {
      await createThread(this.http, { id: this.id, network: this.#settings.network }, signal);
    } catch (err) {
      if (!(err instanceof ThreadboxError) || err.code !== "THREAD_EXISTS") throw err;
    }
  }

  /** Starts an execution: a stream of its events (`stream: true`) or a promise of its result. */
  execute<K extends ResultKind>(
    suffix: string,
    body: Record<string, unknown>,
    kinds: readonly K[],
    opts: StreamOptions | ResultOptions,
  ): ExecutionStream | Promise<ResultValues[K]> {
    const stream = new ExecutionStream({
      open: (signal) => this.ensure(() => this.http.request("POST", this.path(suffix), { json: body, accept: NDJSON, signal }), signal),
      resume: (id, after, signal) => this.http.request("GET", this.path(`/executions/${seg(id)}/events?after=${after}`), { accept: NDJSON, signal }),
      cancel: (id) => this.cancel(id),
      retries: this.http.resume,
      signal: opts.signal,
    });
    return opts.stream === true ? stream : collect(stream, kinds, opts as RunCallbacks);
  }

  async cancel(executionId: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.http.request("POST", this.path(`/executions/${seg(executionId)}/cancel`), { signal });
    const body = (await res.json()) as { cancelled?: unknown };
    return body.cancelled === true;
  }
}

const CALL_OPTIONS = ["stream", "signal", "onStdout", "onStderr", "onDisplay", "onEvent"] as const;

/** Splits a call's options into the request body and the client's own options. */
export function splitOptions<T extends object>(opts: T | undefined): { body: Record<string, unknown>; call: StreamOptions | ResultOptions } {
  const body: Record<string, unknown> = {};
  const call: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(opts ?? {})) {
    if ((CALL_OPTIONS as readonly string[]).includes(key)) call[key] = value;
    else body[key] = value;
  }
  return { body, call: call as StreamOptions | ResultOptions };
}
