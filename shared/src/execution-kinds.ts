import { z } from "zod";
import { CellResultSchema, ContextIdSchema, RunCellSchema } from "./contexts.ts";
import { CheckpointIdSchema, CheckpointSchema, CreateCheckpointSchema, RestoreCheckpointSchema, RestoreResultSchema } from "./checkpoints.ts";
import { ExecRequestSchema, ExecResultSchema, InstallResultSchema, PackagesRequestSchema } from "./exec.ts";
import { NotebookResultSchema, RunJupyterSchema } from "./notebook.ts";
import { RunCodeSchema, runCodeAsExec, runCodeAsPython } from "./run-code.ts";
import { RunPythonParamsSchema, RunPythonResponseSchema } from "./run-python.ts";

/**
 * Every kind of execution, in one place. The worker's routes, its Durable Object's executor, the OpenAPI document
 * and the runtime's router are all driven by these two tables; adding a kind is a row here plus its handler in
 * runtime-container/src/executions/ (docs/architecture.md walks through it).
 */

/** What a finished execution means for its record in the thread's history. */
export interface Outcome {
  status: "succeeded" | "failed" | "cancelled";
  exit_code: number | null;
  error_code: string | null;
}

/**
 * The shapes a `result` event carries (its `result.kind`), each with what it means for the record and the fields
 * the runtime logs for it. Several execution kinds may answer with one shape (run_code answers as exec does).
 */
export const RESULT_KINDS = {
  exec: {
    schema: ExecResultSchema,
    outcome: (v: z.infer<typeof ExecResultSchema>): Outcome => ({
      status: v.canceled ? "cancelled" : v.exit_code === 0 && !v.timed_out && !v.truncated ? "succeeded" : "failed",
      exit_code: v.exit_code,
      error_code: v.timed_out ? "EXECUTION_TIMEOUT" : null,
    }),
    log: (v: z.infer<typeof ExecResultSchema>) => ({ exit_code: v.exit_code, timed_out: v.timed_out, truncated: v.truncated }),
  },
  run_python: {
    schema: RunPythonResponseSchema,
    outcome: (v: z.infer<typeof RunPythonResponseSchema>): Outcome => ({
      status: v.is_error ? "failed" : "succeeded",
      exit_code: v.metadata.exit_code,
      error_code: v.metadata.error_code ?? null,
    }),
    log: (v: z.infer<typeof RunPythonResponseSchema>) => ({ exit_code: v.metadata.exit_code, timed_out: v.metadata.timed_out, truncated: v.metadata.truncated }),
  },
  install: {
    schema: InstallResultSchema,
    outcome: (v: z.infer<typeof InstallResultSchema>): Outcome => ({
      status: v.ok ? "succeeded" : "failed",
      exit_code: null,
      error_code: v.ok ? null : "PACKAGE_INSTALL_FAILED",
    }),
    log: (v: z.infer<typeof InstallResultSchema>) => ({ ok: v.ok, installed: v.installed }),
  },
  cell: {
    schema: CellResultSchema,
    outcome: (v: z.infer<typeof CellResultSchema>): Outcome => ({
      status: v.canceled ? "cancelled" : v.ok ? "succeeded" : "failed",
      exit_code: null,
      error_code: v.timed_out ? "EXECUTION_TIMEOUT" : (v.error?.type ?? null),
    }),
    log: (v: z.infer<typeof CellResultSchema>) => ({ ok: v.ok, state: v.state, timed_out: v.timed_out }),
  },
  notebook: {
    schema: NotebookResultSchema,
    outcome: (v: z.infer<typeof NotebookResultSchema>): Outcome => ({
      status: v.canceled ? "cancelled" : v.ok ? "succeeded" : "failed",
      exit_code: null,
      error_code: v.timed_out ? "EXECUTION_TIMEOUT" : (v.cells.find((c) => c.error)?.error?.type ?? null),
    }),
    log: (v: z.infer<typeof NotebookResultSchema>) => ({ ok: v.ok, cells: v.cells.length, not_run: v.not_run, written: v.written }),
  },
  checkpoint: {
    schema: CheckpointSchema,
    outcome: (): Outcome => ({ status: "succeeded", exit_code: null, error_code: null }),
    log: (v: z.infer<typeof CheckpointSchema>) => ({ checkpoint: v.id, files: v.files, size_bytes: v.size_bytes }),
  },
  restore: {
    schema: RestoreResultSchema,
    outcome: (): Outcome => ({ status: "succeeded", exit_code: null, error_code: null }),
    log: (v: z.infer<typeof RestoreResultSchema>) => ({ checkpoint: v.checkpoint, files: v.files, venv_rebuilt: v.venv_rebuilt }),
  },
} as const;
export type ResultKind = keyof typeof RESULT_KINDS;
export type ResultValue<R extends ResultKind> = z.infer<(typeof RESULT_KINDS)[R]["schema"]>;

/** The kinds, in the order the API documents them. */
export const EXECUTION_KIND_NAMES = ["exec", "run_python", "run_code", "cell", "run_jupyter", "install", "checkpoint", "restore"] as const;
export type ExecutionKind = (typeof EXECUTION_KIND_NAMES)[number];
export const ExecutionKindSchema = z.enum(EXECUTION_KIND_NAMES);

/**
 * Kinds the execution history shows besides executions: a background process's start and end, a terminal's open and
 * close. History only: they are never queued, run, cancelled or recovered as executions (no row of EXECUTION_KINDS,
 * not in the executions table); the thread's object reads them from its process and terminal records.
 */
export const HISTORY_ONLY_KIND_NAMES = ["process", "terminal"] as const;
export type HistoryOnlyKind = (typeof HISTORY_ONLY_KIND_NAMES)[number];
export const HistoryKindSchema = z.enum([...EXECUTION_KIND_NAMES, ...HISTORY_ONLY_KIND_NAMES]);
export type HistoryKind = z.infer<typeof HistoryKindSchema>;

const firstLine = (text: string) => (text.split("\n").find((l) => l.trim() !== "") ?? "").slice(0, 200);

export interface KindSpec<Req extends z.ZodType, R extends ResultKind> {
  /**
   * The route below the thread, the same on both sides: `/v1/threads/{thread}/<path>` publicly and
   * `/threads/{tenant}/{thread}/<path>` on the runtime; `:name` segments are parameters (validated by `params`).
   */
  path: string;
  request: Req;
  /** The result shape(s) a JSON answer may have; the first is this kind's own. */
  results: readonly [R, ...ResultKind[]];
  /** The OpenAPI summary. */
  doc: string;
  /** One line for the execution's record (the command, or the first line of code). */
  summary(req: z.infer<Req>): string;
  /** A public request this kind takes but another kind runs (run_code's python and bash); absent: this kind. */
  delegate?(req: z.infer<Req>): { kind: ExecutionKind; body: unknown } | null;
  /** Path parameters and their schemas. */
  params?: Record<string, z.ZodType<string>>;
}

const kind = <Req extends z.ZodType, R extends ResultKind>(spec: KindSpec<Req, R>) => spec;

export const EXECUTION_KINDS = {
  exec: kind({
    path: "exec",
    request: ExecRequestSchema,
    results: ["exec"],
    doc: "Run a shell command",
    summary: (r) => firstLine(r.command),
  }),
  run_python: kind({
    path: "run_python",
    request: RunPythonParamsSchema,
    results: ["run_python"],
    doc: "The run_python tool",
    summary: (r) => firstLine(r.code),
  }),
  run_code: kind({
    path: "run_code",
    request: RunCodeSchema,
    results: ["exec", "run_python"],
    doc: "Run python, bash, javascript or typescript code",
    summary: (r) => `${r.language}: ${firstLine(r.code)}`,
    delegate: (r) =>
      r.language === "python"
        ? { kind: "run_python", body: runCodeAsPython(r) }
        : r.language === "bash"
          ? { kind: "exec", body: runCodeAsExec(r) }
          : null,
  }),
  install: kind({
    path: "packages",
    request: PackagesRequestSchema,
    results: ["install"],
    doc: "Install Python (or npm) packages into the thread",
    summary: (r) => `${r.language}: ${r.packages.join(" ")}`.slice(0, 200),
  }),
  cell: kind({
    path: "contexts/:ctx/run",
    request: RunCellSchema,
    results: ["cell"],
    doc: "Run a cell in the context",
    summary: (r) => `cell: ${firstLine(r.code).slice(0, 190)}`,
    params: { ctx: ContextIdSchema },
  }),
  run_jupyter: kind({
    path: "run_jupyter",
    request: RunJupyterSchema,
    results: ["notebook"],
    doc: "Run a Jupyter notebook's code cells in a Python context",
    summary: (r) => (typeof r.notebook === "string" ? `notebook: ${r.notebook}` : "notebook (inline)").slice(0, 200),
  }),
  // Queued like any execution, so a checkpoint or restore never sees the workspace mid-run (runtime: checkpoints/).
  checkpoint: kind({
    path: "checkpoints",
    request: CreateCheckpointSchema,
    results: ["checkpoint"],
    doc: "Take a checkpoint of the workspace (files and manifests; the venv is rebuilt from them)",
    summary: (r) => `checkpoint${r.label ? `: ${r.label}` : ""}`.slice(0, 200),
  }),
  restore: kind({
    path: "checkpoints/:checkpoint/restore",
    request: RestoreCheckpointSchema,
    results: ["restore"],
    doc: "Put the workspace back as the checkpoint has it",
    summary: () => "restore",
    params: { checkpoint: CheckpointIdSchema },
  }),
} as const satisfies Record<ExecutionKind, unknown>;

/** One row of the table, whatever its kind: for code that loops over the kinds. */
export type AnyKindSpec = KindSpec<z.ZodType, ResultKind>;
export const kindSpec = (kind: ExecutionKind): AnyKindSpec => EXECUTION_KINDS[kind] as unknown as AnyKindSpec;

export type KindRequest<K extends ExecutionKind> = z.infer<(typeof EXECUTION_KINDS)[K]["request"]>;

/** `path` with its `:name` segments filled from `params` (each percent-encoded). */
export function fillPath(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`path parameter ${name} missing for ${path}`);
    return encodeURIComponent(value);
  });
}

/** The record's outcome for a terminal `result` payload. */
export function outcomeOfResult(result: { kind: ResultKind; value: unknown }): Outcome {
  const spec = RESULT_KINDS[result.kind] as { outcome: (v: unknown) => Outcome };
  return spec.outcome(result.value);
}
