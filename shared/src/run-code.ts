import { z } from "zod";
import { ExecRequestSchema } from "./exec.ts";
import { RunPythonParamsSchema, type RunPythonParams } from "./run-python.ts";

/** `run_code`: an exec request whose command is code in a language. */
export const RunCodeSchema = ExecRequestSchema.omit({ command: true }).extend({
  language: z.enum(["python", "javascript", "typescript", "bash"]),
  code: z.string().min(1).max(1_000_000),
});
export type RunCode = z.infer<typeof RunCodeSchema>;

/** run_code's Python as a run_python request: run_python names the environment and the directory its own way. */
export function runCodeAsPython(req: RunCode): RunPythonParams {
  const { env, cwd, language: _, command: __, ...common } = { ...req, command: undefined };
  return RunPythonParamsSchema.parse({ ...common, ...(env ? { environment: env } : {}), ...(cwd ? { working_dir: cwd } : {}) });
}

/** run_code's bash as an exec request. */
export function runCodeAsExec(req: RunCode): z.infer<typeof ExecRequestSchema> {
  const { language: _, code, ...rest } = req;
  return ExecRequestSchema.parse({ ...rest, command: code });
}
