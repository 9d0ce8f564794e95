import { z } from "zod";
import { CellErrorSchema, ContextIdSchema } from "./contexts.ts";
import { GuestDirSchema, TimeoutSchema } from "./exec.ts";

/**
 * Notebooks (run_jupyter): an nbformat 4 document's code cells run in order in a Python context. The schemas here
 * check only what running a notebook needs; every other field of the document is kept as it came.
 */

/** A cell's source: one string, or the list of lines nbformat writes. */
export const NotebookSourceSchema = z.union([z.string(), z.array(z.string())]);

export const NotebookCellSchema = z.looseObject({
  cell_type: z.string(),
  source: NotebookSourceSchema,
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type NotebookCell = z.infer<typeof NotebookCellSchema>;

export const MAX_NOTEBOOK_CELLS = 10_000;

export const NotebookSchema = z.looseObject({
  nbformat: z.literal(4, "only nbformat 4 notebooks can be run"),
  nbformat_minor: z.number().int().nonnegative(),
  metadata: z.record(z.string(), z.unknown()),
  cells: z.array(NotebookCellSchema).max(MAX_NOTEBOOK_CELLS),
});
export type Notebook = z.infer<typeof NotebookSchema>;

export const RunJupyterSchema = z.strictObject({
  /**
   * A notebook file of the workspace (`/workspace/a.ipynb`, `/a.ipynb` or `a.ipynb`: its outputs are written back
   * into it), or the notebook itself (its outputs come back in the answer). Checked as nbformat 4 by the runtime
   * (INVALID_NOTEBOOK otherwise).
   */
  notebook: z.union([GuestDirSchema, z.record(z.string(), z.unknown())]),
  /** Seconds for the whole notebook: each cell gets what is left. */
  timeout: TimeoutSchema.default(120),
  /** Run in this Python context (its state is used and kept); absent: a fresh context, removed afterwards. */
  context: ContextIdSchema.optional(),
  /** Stop at the first cell that fails (the rest are not run), as `jupyter nbconvert --execute` does. */
  stop_on_error: z.boolean().default(true),
});
export type RunJupyter = z.infer<typeof RunJupyterSchema>;

/** One nbformat 4 output, as written into the notebook. */
export const NotebookOutputSchema = z.union([
  z.object({ output_type: z.literal("stream"), name: z.enum(["stdout", "stderr"]), text: z.string() }),
  z.object({
    output_type: z.enum(["execute_result", "display_data"]),
    /** mime → text (base64 for images; a JSON mime's value as it is). */
    data: z.record(z.string(), z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
    execution_count: z.number().int().optional(),
  }),
  z.object({ output_type: z.literal("error"), ename: z.string(), evalue: z.string(), traceback: z.array(z.string()) }),
]);
export type NotebookOutput = z.infer<typeof NotebookOutputSchema>;

export const NotebookCellResultSchema = z.object({
  /** The cell's index among all the notebook's cells (markdown and raw cells count, and are not run). */
  index: z.number().int(),
  execution_count: z.number().int(),
  ok: z.boolean(),
  outputs: z.array(NotebookOutputSchema),
  error: CellErrorSchema.nullable(),
  timed_out: z.boolean(),
  duration_ms: z.number().nonnegative(),
});
export type NotebookCellResult = z.infer<typeof NotebookCellResultSchema>;

export const NotebookResultSchema = z.object({
  execution_id: z.string(),
  context_id: z.string(),
  /** Every code cell ran and none failed. */
  ok: z.boolean(),
  /** The code cells run, in order (a cell after a failure is not run when `stop_on_error`). */
  cells: z.array(NotebookCellResultSchema),
  /** Code cells that were not run (after a failure, a timeout or a cancel). */
  not_run: z.number().int(),
  timed_out: z.boolean(),
  canceled: z.literal(true).optional(),
  /** The workspace path the notebook came from (null: given inline). */
  path: z.string().nullable(),
  /** Whether the outputs were written back into `path`; when writing failed, `write_error` says why. */
  written: z.boolean(),
  write_error: z.string().optional(),
  /** The notebook with its outputs, when it was given inline. */
  notebook: z.record(z.string(), z.unknown()).optional(),
  duration_ms: z.number().nonnegative(),
});
export type NotebookResult = z.infer<typeof NotebookResultSchema>;

