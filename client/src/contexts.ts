import { z } from "zod";
import {
  type ContextInfo,
  ContextInfoSchema,
  type ContextLanguage,
  type CreateContextSchema,
  type RunCellSchema,
} from "../../shared/src/index.ts";
import { seg } from "./http.ts";
import type { CallOptions } from "./options.ts";
import type { ResultOptions, ResultValues, StreamOptions } from "./run.ts";
import { type ThreadScope, splitOptions } from "./scope.ts";
import type { ExecutionStream } from "./stream.ts";

export type CreateContextOptions = z.input<typeof CreateContextSchema>;
/** A cell's fields beside its code: timeout (seconds), capture_screenshot, and env (for that cell only). */
export type RunCellOptions = Omit<z.input<typeof RunCellSchema>, "code">;

const ContextListSchema = z.object({ contexts: z.array(ContextInfoSchema) });

/** A thread's stateful interpreters (Python, JavaScript, TypeScript): variables and imports survive between cells. */
export class Contexts {
  readonly #scope: ThreadScope;

  constructor(scope: ThreadScope) {
    this.#scope = scope;
  }

  /** Starts a persistent interpreter (Python by default). */
  async create(opts: CreateContextOptions & CallOptions = {}): Promise<Context> {
    const { body, call } = splitOptions(opts);
    const info = await this.#scope.ensure(
      () => this.#scope.http.json(ContextInfoSchema, "POST", this.#scope.path("/contexts"), { json: body, signal: call.signal }),
      call.signal,
    );
    return new Context(this.#scope, info);
  }

  async list(opts: CallOptions = {}): Promise<Context[]> {
    const { contexts } = await this.#scope.ensure(
      () => this.#scope.http.json(ContextListSchema, "GET", this.#scope.path("/contexts"), { signal: opts.signal }),
      opts.signal,
    );
    return contexts.map((info) => new Context(this.#scope, info));
  }

  /** An existing context by id (CONTEXT_NOT_FOUND when it is gone: reclaimed when idle, or deleted). */
  async get(id: string, opts: CallOptions = {}): Promise<Context> {
    const info = await this.#scope.http.json(ContextInfoSchema, "GET", this.#scope.path(`/contexts/${seg(id)}`), { signal: opts.signal });
    return new Context(this.#scope, info);
  }
}

export class Context {
  readonly id: string;
  readonly language: ContextLanguage;
  /** As the server described it when this object was made (`refresh()` asks again). */
  readonly info: ContextInfo;
  readonly #scope: ThreadScope;

  constructor(scope: ThreadScope, info: ContextInfo) {
    this.#scope = scope;
    this.id = info.id;
    this.language = info.language;
    this.info = info;
  }

  /** Runs a cell; the result carries the last expression's value as a mime bundle, or the error with its line. */
  run(code: string, opts: RunCellOptions & StreamOptions): ExecutionStream;
  run(code: string, opts?: RunCellOptions & ResultOptions): Promise<ResultValues["cell"]>;
  run(code: string, opts?: RunCellOptions & (StreamOptions | ResultOptions)): ExecutionStream | Promise<ResultValues["cell"]> {
    const { body, call } = splitOptions(opts);
    return this.#scope.execute(`/contexts/${seg(this.id)}/run`, { ...body, code }, ["cell"], call);
  }

  refresh(opts: CallOptions = {}): Promise<ContextInfo> {
    return this.#scope.http.json(ContextInfoSchema, "GET", this.#scope.path(`/contexts/${seg(this.id)}`), { signal: opts.signal });
  }

  /**
   * A fresh interpreter in its place: same id, language, cwd, env and limits; variables gone, `execution_count` from 0.
   * A cell running now is killed (it answers `error.type: "Restarted"`).
   */
  restart(opts: CallOptions = {}): Promise<ContextInfo> {
    return this.#scope.http.json(ContextInfoSchema, "POST", this.#scope.path(`/contexts/${seg(this.id)}/restart`), { signal: opts.signal });
  }

  /** Stops the interpreter; its variables are gone. */
  async delete(opts: CallOptions = {}): Promise<void> {
    await this.#scope.http.request("DELETE", this.#scope.path(`/contexts/${seg(this.id)}`), { signal: opts.signal });
  }
}
