import { z } from "zod";
import {
  ImportPolicySchema,
  CellResultSchema,
  ContextIdSchema,
  ContextInfoSchema,
  CreateContextSchema,
  DisplayOutputSchema,
  ExecRequestSchema,
  ExecResultSchema,
  FileListSchema,
  FileWrittenSchema,
  InstallResultSchema,
  NotebookResultSchema,
  NetworkSettingSchema,
  PackagesRequestSchema,
  RelativeFilePathSchema,
  RunCellSchema,
  RunCodeSchema,
  RunJupyterSchema,
  RunPythonParamsSchema,
  RunPythonResponseSchema,
  SandboxIdSchema,
  ThreadIdSchema,
  ThreadMountsSchema,
  ThreadStateSchema,
  ProcessIdSchema,
  ProcessInfoSchema,
  StartProcessSchema,
} from "../../../shared/src/index.ts";

/**
 * The MCP tools' inputs and outputs, from the API's own zod schemas (shared/src): a value a tool accepts is one the
 * matching route accepts, and the JSON Schemas clients see are generated from these (tools.ts).
 */

/** Each tool's own fields; `sandbox_id` is added per caller (withSandbox). */
export const TOOL_INPUTS = {
  run_python: RunPythonParamsSchema,
  run_code: RunCodeSchema,
  exec: ExecRequestSchema,
  install_packages: PackagesRequestSchema,
  create_context: CreateContextSchema,
  run_cell: RunCellSchema.extend({ context_id: ContextIdSchema.describe("The context, from create_context.") }),
  run_jupyter: RunJupyterSchema,
  restart_context: z.strictObject({ context_id: ContextIdSchema.describe("The context to restart, from create_context.") }),
  write_file: z.strictObject({
    path: RelativeFilePathSchema.describe("Path relative to the workspace (/workspace), e.g. data/input.csv; parents are created."),
    content: z.string().optional().describe("The file's text (UTF-8). Give content or content_base64."),
    content_base64: z.string().optional().describe("The file's bytes, base64-encoded (for binary files)."),
  }),
  read_file: z.strictObject({ path: RelativeFilePathSchema.describe("Path relative to the workspace.") }),
  list_files: z.strictObject({
    path: z.string().max(1024).optional().describe("Directory relative to the workspace (default: its root)."),
    recursive: z.boolean().optional().describe("Everything below the directory, not only its entries."),
  }),
  start_process: StartProcessSchema,
  process_logs: z.strictObject({
    process_id: ProcessIdSchema.describe("The process, from start_process."),
    after: z.number().int().min(-1).optional().describe("Only output after this seq (last_seq of an earlier call); default: all it kept."),
  }),
  create_thread: z.strictObject({
    sandbox_id: ThreadIdSchema.optional().describe("The new thread's id (default: a new UUID); an existing id is an error."),
    network: NetworkSettingSchema.optional().describe(
      '"none": the thread\'s programs run without any network (default: "default"). Or an egress policy ' +
        '{allow: ["pypi.org", "*.example.com"], deny?: [...], secrets?: [{host, header, value}]}: only allowed hosts, through a proxy that adds the secret headers.',
    ),
    import_policy: ImportPolicySchema.optional().describe(
      "Python modules the thread's code may import: deny refuses modules (and submodules); with allow, only those and the standard library.",
    ),
    mounts: ThreadMountsSchema.optional().describe(
      "The tenant's shared read-only mounts the thread sees, e.g. [{\"name\": \"pdf\"}] at /.skills/pdf (path: one directory under /.skills, /.mounts or /mnt).",
    ),
  }),
} as const;
export type ToolName = keyof typeof TOOL_INPUTS;
export type ToolInput<N extends ToolName> = z.infer<(typeof TOOL_INPUTS)[N]>;

/** The tool that creates threads names its own; every other tool works in the thread `sandbox_id` names. */
export const needsThread = (name: ToolName): boolean => name !== "create_thread";

const SANDBOX =
  "An API key creates it on first use (an execution, a file write or a new context); with a thread token it may be " +
  "omitted, and must be the token's thread.";
const SANDBOX_ID = `The thread to work in, e.g. your chat's id (1-64 of A-Z a-z 0-9 _ -). ${SANDBOX}`;
const SANDBOX_UUID = `The thread to work in, as a UUID (run_python's rule; the other tools take any thread id). ${SANDBOX}`;

/**
 * The tool's input as `caller` sends it: with an API key `sandbox_id` is required; a thread token fixes the thread,
 * so there it may be omitted (and, given, must be the token's own). run_python keeps the run_python tool's UUID rule:
 * for a key its input is RunPythonToolSchema exactly.
 */
export function withSandbox(name: ToolName, caller: "key" | "token"): z.ZodObject {
  const input = TOOL_INPUTS[name] as z.ZodObject;
  if (!needsThread(name)) return input;
  const id = name === "run_python" ? SandboxIdSchema.describe(SANDBOX_UUID) : ThreadIdSchema.describe(SANDBOX_ID);
  return input.extend({ sandbox_id: caller === "key" ? id : id.optional() });
}

/** A rich output in structured results: images travel as image content, so only their kind is repeated here. */
const DisplayRefSchema = DisplayOutputSchema.extend({
  data: z.string().optional().describe("Text outputs only; an image is in the result's image content."),
});
const displays = { displays: z.array(DisplayRefSchema).optional() };

/**
 * The structured result (`structuredContent`) of each tool that has one shape: the API's result, without the
 * base64 of images (sent once, as image content). run_code answers as exec or run_python does, and read_file with
 * its content, so neither declares one.
 */
export const TOOL_OUTPUTS: Partial<Record<ToolName, z.ZodObject>> = {
  run_python: RunPythonResponseSchema.extend(displays),
  exec: ExecResultSchema.extend(displays),
  install_packages: InstallResultSchema,
  create_context: ContextInfoSchema,
  run_cell: CellResultSchema.extend(displays),
  run_jupyter: NotebookResultSchema,
  restart_context: ContextInfoSchema,
  write_file: FileWrittenSchema,
  list_files: FileListSchema,
  start_process: ProcessInfoSchema,
  process_logs: z.object({ process: ProcessInfoSchema, last_seq: z.number().int(), text: z.string() }),
  create_thread: ThreadStateSchema,
};
