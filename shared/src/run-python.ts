import { z } from "zod";
import { DisplaysSchema, EnvSchema, GuestDirSchema, RunLimitsSchema, TimeoutSchema } from "./exec.ts";
import { SandboxIdSchema } from "./ids.ts";
import { CaptureScreenshotSchema } from "./screenshots.ts";
import { RelativeFilePathSchema } from "./files.ts";

/** The run_python tool's spec writes flags as strings ("true"); accept those and real booleans. */
const Flag = z.union([z.boolean(), z.enum(["true", "false"])]).transform((v) => v === true || v === "true");

export const PythonOptionsSchema = z.strictObject({
  use_venv: Flag.optional(),
  python_cmd: z
    .string()
    .regex(/^python3(\.\d{1,2})?$/, "python_cmd is python3 or python3.N")
    .optional(),
  pip_args: z.string().max(1000).optional(),
  install_jupyter: Flag.optional(),
  notebook_format: Flag.optional(),
  requirements_file: RelativeFilePathSchema.optional(),
  auto_install: Flag.optional(),
});
export type PythonOptions = z.infer<typeof PythonOptionsSchema>;

/** The run_python tool's parameters (without sandbox_id, which the thread route carries in its path). */
export const RunPythonParamsSchema = z.strictObject({
  code: z.string().min(1).max(1_000_000),
  packages: z.array(z.string().min(1).max(500)).max(100).default([]),
  files: z
    .record(RelativeFilePathSchema, z.string())
    .refine((f) => Object.keys(f).length <= 200, "at most 200 files")
    .default({}),
  options: PythonOptionsSchema.default({}),
  environment: EnvSchema.default({}),
  working_dir: GuestDirSchema.default("/workspace"),
  timeout: TimeoutSchema.default(30),
  stdin: z.string().max(10_000_000).optional(),
  /** PNGs of the thread's display taken while the program's windows are up (tkinter, matplotlib); see ExecRequestSchema. */
  capture_screenshot: CaptureScreenshotSchema,
  /** Resource limits for the code's run (not for package installs); see RunLimitsSchema. */
  limits: RunLimitsSchema.optional(),
});
export type RunPythonParams = z.infer<typeof RunPythonParamsSchema>;
export type RunPythonParamsInput = z.input<typeof RunPythonParamsSchema>;

/** The run_python tool's exact body: `sandbox_id` names the thread. */
export const RunPythonToolSchema = RunPythonParamsSchema.extend({ sandbox_id: SandboxIdSchema });

export const PythonErrorCodeSchema = z.enum([
  "PYTHON_SYNTAX_ERROR",
  "MODULE_NOT_FOUND",
  "PACKAGE_INSTALL_FAILED",
  "EXECUTION_TIMEOUT",
  "IMPORT_ERROR",
  "RUNTIME_ERROR",
  "MEMORY_ERROR",
]);
export type PythonErrorCode = z.infer<typeof PythonErrorCodeSchema>;

export const RunPythonMetadataSchema = z.object({
  language: z.literal("python"),
  exit_code: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  /** seconds */
  duration: z.number().nonnegative(),
  timed_out: z.boolean(),
  packages_installed: z.array(z.string()),
  python_version: z.string(),
  virtual_env: z.string().nullable(),
  files_created: z.array(z.string()),
  error_type: z.string().optional(),
  error_line: z.number().int().positive().optional(),
  error_code: PythonErrorCodeSchema.optional(),
  /** stdout+stderr together hit the output cap. */
  truncated: z.boolean(),
  /** Present (true) when the run was stopped because its thread went over its disk quota. */
  disk_quota_exceeded: z.boolean().optional(),
  /** Present (true) when the run went over its memory limit as a whole and was stopped (error_code MEMORY_ERROR). */
  memory_limit_exceeded: z.boolean().optional(),
  execution_id: z.string(),
});
export type RunPythonMetadata = z.infer<typeof RunPythonMetadataSchema>;

export const RunPythonResponseSchema = z.object({
  text: z.string(),
  is_error: z.boolean(),
  metadata: RunPythonMetadataSchema,
  displays: DisplaysSchema,
});
export type RunPythonResponse = z.infer<typeof RunPythonResponseSchema>;
