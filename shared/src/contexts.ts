import { z } from "zod";
import { EnvSchema, GuestDirSchema, RunLimitsSchema, TimeoutSchema } from "./exec.ts";

/** Stateful interpreter contexts: a persistent interpreter per context, cells run one at a time. */
export const ContextLanguageSchema = z.enum(["python", "javascript", "typescript"]);
export type ContextLanguage = z.infer<typeof ContextLanguageSchema>;

export const CreateContextSchema = z.strictObject({
  language: ContextLanguageSchema.default("python"),
  cwd: GuestDirSchema.optional(),
  env: EnvSchema.optional(),
  /** Resource limits of the interpreter for its whole life (its CPU limit counts every cell). */
  limits: RunLimitsSchema.optional(),
});
export type CreateContext = z.infer<typeof CreateContextSchema>;

export const ContextIdSchema = z.string().regex(/^ctx_[A-Za-z0-9]{1,40}$/, "a context id looks like ctx_…");

export const ContextInfoSchema = z.object({
  id: z.string(),
  language: ContextLanguageSchema,
  status: z.enum(["idle", "busy", "starting", "dead"]),
  created_at: z.string(),
  last_used_at: z.string(),
  /** Resident memory of the interpreter's process tree, bytes (null while it is not running). */
  rss_bytes: z.number().int().nullable(),
  /** Cells run in the context's life, restarts included. */
  cells: z.number().int(),
  /** The number of the last cell run in the current interpreter (0: none yet); a fresh interpreter starts again at 0. */
  execution_count: z.number().int(),
  /** The working directory the context was created with, as the sandbox sees it. */
  cwd: z.string(),
  /** The names of the environment variables the context was created with (never their values). */
  env: z.array(z.string()),
});
export type ContextInfo = z.infer<typeof ContextInfoSchema>;

export const RunCellSchema = z.strictObject({
  code: z.string().min(1).max(1_000_000),
  timeout: TimeoutSchema.default(30),
  capture_screenshot: z.boolean().default(false),
  /** Environment variables for this cell only: set before it runs, put back as they were after it. */
  env: EnvSchema.optional(),
});
export type RunCell = z.infer<typeof RunCellSchema>;

export const CellErrorSchema = z.object({
  type: z.string(),
  value: z.string(),
  traceback: z.string(),
  /** The line in the cell, when the error happened in it. */
  line: z.number().int().nullable(),
});
export type CellError = z.infer<typeof CellErrorSchema>;

export const CellResultSchema = z.object({
  execution_id: z.string(),
  context_id: z.string(),
  ok: z.boolean(),
  /** The final expression's value: `text/plain`, plus `text/html` / `image/png` when it has them. */
  result: z.record(z.string(), z.string()).nullable(),
  error: CellErrorSchema.nullable(),
  stdout: z.string(),
  stderr: z.string(),
  timed_out: z.boolean(),
  /** The cell was cancelled (POST …/executions/:id/cancel): interrupted like a timeout; present only then. */
  canceled: z.literal(true).optional(),
  /**
   * What happened to the context's variables: `preserved` (the cell ran, or a timeout interrupted it and the
   * interpreter recovered), `restarted` (the interpreter died or would not stop: a fresh one has empty state).
   */
  state: z.enum(["preserved", "restarted"]),
  /** The cell's number in its interpreter (1, 2, …), as in a notebook: a fresh interpreter starts again at 1. */
  execution_count: z.number().int(),
  duration_ms: z.number().nonnegative(),
});
export type CellResult = z.infer<typeof CellResultSchema>;
