import { z } from "zod";
import { CaptureScreenshotSchema } from "./screenshots.ts";

export const EnvSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "environment names are [A-Za-z_][A-Za-z0-9_]*"), z.string().max(32_768))
  .refine((env) => Object.keys(env).length <= 128, "at most 128 environment variables");

/** Timeouts are whole seconds, 1–300 (the run_python tool's range), default 30. */
export const TimeoutSchema = z.number().int().min(1).max(300);

/** A guest path: absolute inside the sandbox, or relative to the workspace root. */
export const GuestDirSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.includes("\0"), "paths cannot contain NUL");

/**
 * Per-call resource limits (setrlimit on every process of the run). Absent fields take the runtime's defaults; a
 * value above the runtime's maximum is refused with VALIDATION_FAILED (the runtime names its maximum).
 */
export const RunLimitsSchema = z.strictObject({
  /** CPU seconds per process (SIGXCPU, then SIGKILL 5 s later). */
  cpu_s: z.number().int().min(1).max(86_400).optional(),
  /** Address space per process, MiB: an allocation beyond it fails (Python: MemoryError). */
  memory_mb: z.number().int().min(64).max(2 ** 20).optional(),
  /** Processes and threads of the thread's uid at once (its contexts included): fork fails beyond it. */
  processes: z.number().int().min(8).max(2 ** 20).optional(),
  /** Open file descriptors per process (EMFILE beyond it). */
  open_files: z.number().int().min(16).max(2 ** 20).optional(),
  /** Largest file a process may write, MiB (EFBIG beyond it). */
  file_size_mb: z.number().int().min(1).max(2 ** 24).optional(),
});
export type RunLimitsRequest = z.infer<typeof RunLimitsSchema>;

export const ExecRequestSchema = z.strictObject({
  command: z.string().min(1).max(1_000_000),
  cwd: GuestDirSchema.optional(),
  env: EnvSchema.optional(),
  timeout: TimeoutSchema.default(30),
  stdin: z.string().max(10_000_000).optional(),
  /**
   * PNGs of the thread's virtual display taken during the run, streamed as `display` events: `true`, or frames
   * (`{interval_ms, max_frames}`) and/or one window (`{window: "<title>"}`) or area (`{region: {x, y, width, height}}`).
   */
  capture_screenshot: CaptureScreenshotSchema,
  limits: RunLimitsSchema.optional(),
});
export type ExecRequest = z.infer<typeof ExecRequestSchema>;
export type ExecRequestInput = z.input<typeof ExecRequestSchema>;

/** A rich output of a run (a figure, a screenshot, a displayed value); base64 for binary mimes. */
export const DisplayOutputSchema = z.object({
  mime: z.string(),
  /** Text for text/* and JSON mimes, base64 for binary ones (image/png). */
  data: z.string(),
  source: z.enum(["figure", "screenshot", "value", "display"]),
  /** A frame's time: milliseconds since the run started (frames of `capture_screenshot: {interval_ms, max_frames}`). */
  time_ms: z.number().int().nonnegative().optional(),
});
export type DisplayOutput = z.infer<typeof DisplayOutputSchema>;
/** In JSON answers only (streams carry them as `display` events): the run's rich outputs, when it had any. */
export const DisplaysSchema = z.array(DisplayOutputSchema).optional();

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
  /** Present (true) when the run was stopped because its thread went over its disk quota (stderr says so too). */
  disk_quota_exceeded: z.boolean().optional(),
  /**
   * Present (true) when the run's processes together went over its memory limit (`limits.memory_mb`, held for the
   * whole run by a cgroup) and the kernel killed one of them: the run was stopped (SIGKILL), stderr says so too.
   */
  memory_limit_exceeded: z.boolean().optional(),
  duration_ms: z.number().nonnegative(),
  displays: DisplaysSchema,
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
