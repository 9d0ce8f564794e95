import { z } from "zod";

export const EnvSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "environment names are [A-Za-z_][A-Za-z0-9_]*"), z.string().max(32_768))
  .refine((env) => Object.keys(env).length <= 128, "at most 128 environment variables");

/** Timeouts are whole seconds, 1–300 (seed 003), default 30. */
export const TimeoutSchema = z.number().int().min(1).max(300);

/** A guest path: absolute inside the sandbox, or relative to the workspace root. */
export const GuestDirSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.includes("\0"), "paths cannot contain NUL");

export const ExecRequestSchema = z.strictObject({
  command: z.string().min(1).max(1_000_000),
  cwd: GuestDirSchema.optional(),
  env: EnvSchema.optional(),
  timeout: TimeoutSchema.default(30),
  stdin: z.string().max(10_000_000).optional(),
});
export type ExecRequest = z.infer<typeof ExecRequestSchema>;
export type ExecRequestInput = z.input<typeof ExecRequestSchema>;

export const ExecResultSchema = z.object({
  execution_id: z.string(),
  /** Always a number: the program's status, or 128 + N when signal N ended it (the shell convention). */
  exit_code: z.number().int(),
  /** The signal that ended the process, when one did (SIGKILL after a timeout, SIGSEGV, ...). */
  signal: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  timed_out: z.boolean(),
  canceled: z.boolean(),
  /** stdout+stderr together hit the output cap; the run was stopped there. */
  truncated: z.boolean(),
  duration_ms: z.number().nonnegative(),
});
export type ExecResult = z.infer<typeof ExecResultSchema>;

/** `POST …/packages`: install into the thread's Python venv, or its Node project (`javascript`). */
export const PackagesRequestSchema = z.strictObject({
  packages: z.array(z.string().min(1).max(500)).min(1).max(100),
  language: z.enum(["python", "javascript"]).default("python"),
  pip_args: z.string().max(1000).optional(),
});
export type PackagesRequest = z.infer<typeof PackagesRequestSchema>;

export const InstallResultSchema = z.object({
  execution_id: z.string(),
  language: z.enum(["python", "javascript"]),
  ok: z.boolean(),
  /** `name==version` (Python) or `name@version` (npm) of what was asked for. */
  installed: z.array(z.string()),
  /** The installer's error when `ok` is false. */
  message: z.string(),
  duration_ms: z.number().nonnegative(),
});
export type InstallResult = z.infer<typeof InstallResultSchema>;
