import type { z } from "zod";
import {
  type ExecRequestInput,
  type ExecResult,
  type PackagesRequestSchema,
  type RunCodeSchema,
  type RunPythonParamsInput,
  type RunJupyterSchema,
  type RunPythonResponse,
  type ThreadState,
  ThreadStateSchema,
} from "../../shared/src/index.ts";
import { Checkpoints } from "./checkpoints.ts";
import { Contexts } from "./contexts.ts";
import { Ports } from "./ports.ts";
import { type TerminalOptions, openTerminal } from "./terminal.ts";
import { Processes } from "./processes.ts";
import { Executions } from "./executions.ts";
import { Files } from "./files.ts";
import type { Http } from "./http.ts";
import type { CallOptions } from "./options.ts";
import type { ResultOptions, ResultValues, StreamOptions } from "./run.ts";
import { ThreadScope, type ThreadSettings, splitOptions } from "./scope.ts";
import type { ExecutionStream } from "./stream.ts";

/** `exec`'s request fields beside the command (cwd, env, timeout in seconds, stdin, limits, capture_screenshot). */
export type ExecOptions = Omit<ExecRequestInput, "command">;
/** `run_python`'s fields beside the code (packages, files, options, environment, working_dir, timeout, stdin, …). */
export type RunPythonOptions = Omit<RunPythonParamsInput, "code">;
type RunCodeInput = z.input<typeof RunCodeSchema>;
export type RunCodeLanguage = RunCodeInput["language"];
export type RunCodeOptions = Omit<RunCodeInput, "code" | "language">;
/** Python runs as `run_python` (its result), the others as a program (an exec result). */
export type RunCodeResult<L extends RunCodeLanguage> = L extends "python" ? RunPythonResponse : ExecResult;
/** `run_jupyter`'s fields beside the notebook (timeout for the whole notebook, context, stop_on_error). */
export type RunJupyterOptions = Omit<z.input<typeof RunJupyterSchema>, "notebook">;
export type InstallOptions = Omit<z.input<typeof PackagesRequestSchema>, "packages">;

/** Package installation into the thread's Python venv or Node project. */
export interface Packages {
  install(packages: string[], opts: InstallOptions & StreamOptions): ExecutionStream;
  install(packages: string[], opts?: InstallOptions & ResultOptions): Promise<ResultValues["install"]>;
}

/**
 * One thread: its workspace, programs and history. Every execution either resolves to its typed result (with
 * `onStdout`/`onStderr`/`onDisplay`/`onEvent` callbacks while it runs) or, with `stream: true`, is an async iterable
 * of its events. Get one with `tb.thread(id)` (created on first use) or `await tb.createThread()`.
 */
export class Thread {
  readonly id: string;
  readonly files: Files;
  readonly packages: Packages;
  readonly contexts: Contexts;
  /** Background processes: dev servers, watchers, training loops. */
  readonly processes: Processes;
  readonly executions: Executions;
  readonly checkpoints: Checkpoints;
  /** Preview URLs of the sandbox's ports. */
  readonly ports: Ports;
  readonly #scope: ThreadScope;

  constructor(http: Http, id: string, settings: ThreadSettings) {
    const scope = new ThreadScope(http, id, settings);
    this.id = id;
    this.#scope = scope;
    this.files = new Files(scope);
    this.contexts = new Contexts(scope);
    this.processes = new Processes(scope);
    this.executions = new Executions(scope);
    this.checkpoints = new Checkpoints(scope);
    this.ports = new Ports(scope);
    this.packages = {
      install: ((packages: string[], opts?: InstallOptions & (StreamOptions | ResultOptions)) => {
        const { body, call } = splitOptions(opts);
        return scope.execute("/packages", { ...body, packages }, ["install"], call);
      }) as Packages["install"],
    };
  }

  /** A shell command (bash) in the thread's sandbox. */
  exec(command: string, opts: ExecOptions & StreamOptions): ExecutionStream;
  exec(command: string, opts?: ExecOptions & ResultOptions): Promise<ExecResult>;
  exec(command: string, opts?: ExecOptions & (StreamOptions | ResultOptions)): ExecutionStream | Promise<ExecResult> {
    const { body, call } = splitOptions(opts);
    return this.#scope.execute("/exec", { ...body, command }, ["exec"], call);
  }

  /** Python in the thread's venv (the run_python tool): packages and files first, a model-friendly `text`. */
  runPython(code: string, opts: RunPythonOptions & StreamOptions): ExecutionStream;
  runPython(code: string, opts?: RunPythonOptions & ResultOptions): Promise<RunPythonResponse>;
  runPython(code: string, opts?: RunPythonOptions & (StreamOptions | ResultOptions)): ExecutionStream | Promise<RunPythonResponse> {
    const { body, call } = splitOptions(opts);
    return this.#scope.execute("/run_python", { ...body, code }, ["run_python"], call);
  }

  /** Code in a language: python (as run_python), bash, javascript or typescript (Node, TypeScript transpiled). */
  runCode<L extends RunCodeLanguage>(language: L, code: string, opts: RunCodeOptions & StreamOptions): ExecutionStream;
  runCode<L extends RunCodeLanguage>(language: L, code: string, opts?: RunCodeOptions & ResultOptions): Promise<RunCodeResult<L>>;
  runCode(language: RunCodeLanguage, code: string, opts?: RunCodeOptions & (StreamOptions | ResultOptions)): ExecutionStream | Promise<unknown> {
    const { body, call } = splitOptions(opts);
    return this.#scope.execute("/run_code", { ...body, language, code }, language === "python" ? ["run_python"] : ["exec"], call);
  }

  /**
   * A notebook's code cells in order in a Python context (a fresh one unless `context` names one): a workspace path
   * (its outputs are written back into the file) or an nbformat 4 document (the answer carries it with its outputs).
   */
  runJupyter(notebook: string | Record<string, unknown>, opts: RunJupyterOptions & StreamOptions): ExecutionStream;
  runJupyter(notebook: string | Record<string, unknown>, opts?: RunJupyterOptions & ResultOptions): Promise<ResultValues["notebook"]>;
  runJupyter(notebook: string | Record<string, unknown>, opts?: RunJupyterOptions & (StreamOptions | ResultOptions)): ExecutionStream | Promise<ResultValues["notebook"]> {
    const { body, call } = splitOptions(opts);
    return this.#scope.execute("/run_jupyter", { ...body, notebook }, ["notebook"], call);
  }

  /** Where the thread runs, its workspace (Python version, packages, contexts) and its execution counts. */
  state(opts: CallOptions = {}): Promise<ThreadState> {
    return this.#scope.ensure(() => this.#scope.http.json(ThreadStateSchema, "GET", this.#scope.path(), { signal: opts.signal }), opts.signal);
  }

  /** A WebSocket to bash in the thread's sandbox (see terminal.ts for its frames). */
  terminal(opts: TerminalOptions = {}): Promise<WebSocket> {
    return openTerminal(this.#scope, opts);
  }

  /** Deletes the thread: workspace, history and contexts (an API key, or a token minted with `canDelete`). */
  async delete(opts: CallOptions = {}): Promise<{ id: string; deleted: boolean }> {
    const res = await this.#scope.http.request("DELETE", this.#scope.path(), { signal: opts.signal });
    return (await res.json()) as { id: string; deleted: boolean };
  }
}
