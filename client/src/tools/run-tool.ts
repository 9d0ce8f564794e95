import { ThreadboxError } from "../errors.ts";
import type { CallOptions } from "../options.ts";
import type { Thread } from "../thread.ts";
import { runCell } from "./cell.ts";
import { type ToolOutput, fromCell, fromExec, fromFile, fromInstall, fromList, fromRunPython } from "./format.ts";
import { type ToolInput, type ToolName, isToolName, toolSpecs } from "./specs.ts";

/**
 * Errors the model caused and can correct (a bad path, a missing file, a busy interpreter): they go back to it as a
 * failed tool output. Everything else (credentials, rate limits, the platform being down) is the application's
 * business and is thrown.
 */
const MODEL_ERRORS = new Set<string>([
  "VALIDATION_FAILED",
  "INVALID_PATH",
  "FILE_NOT_FOUND",
  "NOT_A_FILE",
  "NOT_A_DIRECTORY",
  "CONTEXT_BUSY",
  "PAYLOAD_TOO_LARGE",
  "EXECUTION_CANCELLED",
]);

const failed = (text: string): ToolOutput => ({ text, images: [], isError: true });

/**
 * Runs one of the threadbox tools on `thread` with the model's arguments (an object, or the JSON text OpenAI sends)
 * and returns what to show the model. Arguments that do not fit the tool's schema, and an unknown tool name, come
 * back as a failed output naming the problem, so the model can try again.
 */
export async function runTool(thread: Thread, name: string, args: unknown, opts: CallOptions = {}): Promise<ToolOutput> {
  if (!isToolName(name)) return failed(`unknown tool "${name}"; the tools are: ${Object.keys(toolSpecs).join(", ")}`);
  let value = args;
  if (typeof args === "string") {
    try {
      value = args.trim() === "" ? {} : JSON.parse(args);
    } catch {
      return failed(`the arguments of ${name} are not valid JSON`);
    }
  }
  const parsed = toolSpecs[name].input.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(arguments)"}: ${i.message}`).join("; ");
    return failed(`invalid arguments for ${name}: ${issues}`);
  }
  return runValidTool(thread, name, parsed.data, opts.signal);
}

/**
 * Runs a tool whose input is already valid (the AI SDK validates it before `execute`); the model's own mistakes come
 * back as a failed output, as from runTool.
 */
export async function runValidTool<N extends ToolName>(thread: Thread, name: N, input: ToolInput<N>, signal?: AbortSignal): Promise<ToolOutput> {
  try {
    return await dispatch(thread, name, input, signal);
  } catch (err) {
    if (err instanceof ThreadboxError && MODEL_ERRORS.has(err.code)) return failed(`${err.code}: ${err.message}`);
    throw err;
  }
}

async function dispatch<N extends ToolName>(thread: Thread, name: N, input: ToolInput<N>, signal?: AbortSignal): Promise<ToolOutput> {
  switch (name) {
    case "run_python": {
      const { code, ...rest } = input as ToolInput<"run_python">;
      return fromRunPython(await thread.runPython(code, { ...rest, signal }));
    }
    case "exec": {
      const { command, ...rest } = input as ToolInput<"exec">;
      return fromExec(await thread.exec(command, { ...rest, signal }));
    }
    case "run_code": {
      const { language, code, ...rest } = input as ToolInput<"run_code">;
      const result = await thread.runCode(language, code, { ...rest, signal });
      return "metadata" in result ? fromRunPython(result) : fromExec(result);
    }
    case "run_cell": {
      const { code, language, timeout } = input as ToolInput<"run_cell">;
      return fromCell(await runCell(thread, code, { language, timeout, signal }));
    }
    case "write_file": {
      const { path, content } = input as ToolInput<"write_file">;
      const written = await thread.files.write(path, content, { signal });
      return { text: `wrote ${written.path} (${written.size} bytes)`, images: [], isError: false };
    }
    case "read_file": {
      const { path } = input as ToolInput<"read_file">;
      return fromFile(path, await thread.files.read(path, { signal }));
    }
    case "list_files": {
      const { path, recursive } = input as ToolInput<"list_files">;
      return fromList(await thread.files.list(path ?? "", { recursive: recursive ?? false, signal }));
    }
    case "install_packages": {
      const { packages, language } = input as ToolInput<"install_packages">;
      return fromInstall(await thread.packages.install(packages, { ...(language ? { language } : {}), signal }));
    }
    default:
      return failed(`unknown tool "${String(name)}"`);
  }
}
