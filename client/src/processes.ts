import { z } from "zod";
import {
  NdjsonParser,
  type ProcessInfo,
  ProcessInfoSchema,
  type ProcessLogMessage,
  ProcessLogMessageSchema,
  type ProcessWaitResult,
  ProcessWaitResultSchema,
  type ProcessWaitSchema,
  type StartProcessSchema,
} from "../../shared/src/index.ts";
import { ThreadboxError } from "./errors.ts";
import { NDJSON, seg } from "./http.ts";
import type { CallOptions } from "./options.ts";
import type { ThreadScope } from "./scope.ts";

export type StartProcessOptions = z.input<typeof StartProcessSchema>;
export type WaitProcessOptions = z.input<typeof ProcessWaitSchema>;

const ListSchema = z.object({ processes: z.array(ProcessInfoSchema) });
const StdinSchema = z.object({ id: z.string(), written: z.number() });

/**
 * A thread's background processes (dev servers, watchers): started, listed, fed, watched and stopped by id. They run
 * beside the thread's executions, with the same sandbox and limits, until they exit, are stopped, or reach the
 * runtime's lifetime cap.
 */
export class Processes {
  readonly #scope: ThreadScope;

  constructor(scope: ThreadScope) {
    this.#scope = scope;
  }

  /** Starts `command` (bash) in the background; resolves at once with `status: "running"`. */
  start(command: string, opts: Omit<StartProcessOptions, "command"> & CallOptions = {}): Promise<ProcessInfo> {
    const { signal, ...body } = opts;
    return this.#scope.ensure(
      () => this.#scope.http.json(ProcessInfoSchema, "POST", this.#scope.path("/processes"), { json: { ...body, command }, signal }),
      signal,
    );
  }

  async list(opts: CallOptions = {}): Promise<ProcessInfo[]> {
    return (await this.#scope.http.json(ListSchema, "GET", this.#scope.path("/processes"), { signal: opts.signal })).processes;
  }

  get(id: string, opts: CallOptions = {}): Promise<ProcessInfo> {
    return this.#scope.http.json(ProcessInfoSchema, "GET", this.#path(id), { signal: opts.signal });
  }

  /** Stops the process's whole tree (TERM, grace, KILL); resolves with it ended. */
  kill(id: string, opts: CallOptions = {}): Promise<ProcessInfo> {
    return this.#scope.http.json(ProcessInfoSchema, "DELETE", this.#path(id), { signal: opts.signal });
  }

  /** Writes `data` to its stdin; `eof: true` closes it afterwards. */
  stdin(id: string, data: string, opts: { eof?: boolean } & CallOptions = {}): Promise<{ written: number }> {
    return this.#scope.http.json(StdinSchema, "POST", this.#path(id, "/stdin"), { json: { data, eof: opts.eof ?? false }, signal: opts.signal });
  }

  /** Until it listens on `port`, prints a line containing `log_pattern`, or ends; or `timeout` seconds pass. */
  wait(id: string, opts: WaitProcessOptions & CallOptions): Promise<ProcessWaitResult> {
    const { signal, ...body } = opts;
    return this.#scope.http.json(ProcessWaitResultSchema, "POST", this.#path(id, "/wait"), { json: body, signal });
  }

  /**
   * Its output as it comes: the retained entries after `after` (-1: all kept), then live ones, ending with
   * `{type: "end"}` once the process has ended. A dropped connection is resumed after the last seq seen.
   */
  async *logs(id: string, opts: { after?: number } & CallOptions = {}): AsyncGenerator<ProcessLogMessage> {
    let after = opts.after ?? -1;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.#scope.http.request("GET", `${this.#path(id, "/logs")}?after=${after}`, { accept: NDJSON, signal: opts.signal });
        if (!res.body) return;
        const parser = new NdjsonParser();
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const value of parser.push(decoder.decode(chunk, { stream: true }))) {
            const message = ProcessLogMessageSchema.parse(value);
            if (message.type === "log") after = message.seq;
            yield message;
            if (message.type === "end") return;
          }
        }
      } catch (err) {
        // A refusal (the process or thread is unknown, bad credentials) is final; a dropped connection is resumed.
        const refused = err instanceof ThreadboxError && err.status > 0 && err.status < 500;
        if (refused || opts.signal?.aborted || attempt >= this.#scope.http.resume.maxRetries) throw err;
      }
      if (attempt >= this.#scope.http.resume.maxRetries) return;
    }
  }

  #path(id: string, suffix = ""): string {
    return this.#scope.path(`/processes/${seg(id)}${suffix}`);
  }
}
