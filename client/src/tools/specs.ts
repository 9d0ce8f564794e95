import { z } from "zod";
import {
  ContextLanguageSchema,
  ExecRequestSchema,
  PackagesRequestSchema,
  RunCodeSchema,
  RunPythonParamsSchema,
  ScreenshotRequestSchema,
  TimeoutSchema,
} from "../../../shared/src/index.ts";

/**
 * The agent tools' inputs, built from the API's own schemas (so a value a tool accepts is one the API accepts) and
 * kept small: a model fills in a few well-described fields more reliably than every option of the API. Optional
 * rather than defaulted fields, so the JSON Schema a provider sees and the value the tool gets agree.
 */
const timeout = TimeoutSchema.optional().describe("Seconds before the run is stopped (1-300, default 30).");
const screenshot = ScreenshotRequestSchema.optional().describe(
  "Give the run a virtual display and return screenshots of its windows (tkinter, matplotlib's plt.show()): true, or " +
    '{"interval_ms": 500, "max_frames": 10} for frames during the run (an animation), {"window": "<exact title>"} ' +
    'for one window, {"region": {"x": 0, "y": 0, "width": 400, "height": 300}} for one area.',
);
const path = z.string().min(1).max(1024);

export const toolSpecs = {
  run_python: {
    description:
      "Run Python 3 in this conversation's persistent sandbox (numpy, pandas and matplotlib are installed). Files " +
      "persist between calls; variables do not (use run_cell for that). Returns stdout, or the error with its line. " +
      "To show a chart, save it (plt.savefig('chart.png')) and call read_file, or draw it in run_cell.",
    input: z.strictObject({
      code: RunPythonParamsSchema.shape.code.describe("The Python program to run."),
      packages: z
        .array(z.string().min(1).max(500))
        .max(100)
        .optional()
        .describe('pip requirements to install first, e.g. ["requests", "scipy==1.14.1"].'),
      timeout,
      capture_screenshot: screenshot,
    }),
  },
  exec: {
    description:
      "Run a bash command in this conversation's persistent sandbox (Debian; the working directory is the workspace, " +
      "which persists between calls). Returns the exit code, stdout and stderr.",
    input: z.strictObject({
      command: ExecRequestSchema.shape.command.describe("The bash command line."),
      cwd: z.string().min(1).max(1024).optional().describe("Directory to run in (default: the workspace root)."),
      timeout,
      capture_screenshot: screenshot,
    }),
  },
  run_code: {
    description:
      "Run a program in python, bash, javascript or typescript (Node.js; top-level await works) in the sandbox. " +
      "Returns its output.",
    input: z.strictObject({
      language: RunCodeSchema.shape.language.describe("The program's language."),
      code: RunCodeSchema.shape.code.describe("The program's source."),
      timeout,
    }),
  },
  run_cell: {
    description:
      "Run a cell in a stateful interpreter, like a notebook: variables, functions and imports persist between " +
      "calls. Returns the last expression's value and the output; matplotlib figures come back as images.",
    input: z.strictObject({
      code: z.string().min(1).max(1_000_000).describe("The cell's code; its last expression is returned."),
      language: ContextLanguageSchema.optional().describe("The interpreter (default python); each language has its own state."),
      timeout,
    }),
  },
  write_file: {
    description: "Write a text file in the sandbox's workspace (parent directories are created; an existing file is replaced).",
    input: z.strictObject({
      path: path.describe("Path relative to the workspace, e.g. data/input.csv."),
      content: z.string().max(10_000_000).describe("The file's full text."),
    }),
  },
  read_file: {
    description: "Read a file from the sandbox's workspace: text comes back as text, PNG/JPEG/GIF/WebP images as images.",
    input: z.strictObject({ path: path.describe("Path relative to the workspace.") }),
  },
  list_files: {
    description: "List a directory of the sandbox's workspace (the root by default).",
    input: z.strictObject({
      path: z.string().max(1024).optional().describe("Directory relative to the workspace (default: the root)."),
      recursive: z.boolean().optional().describe("List everything below the directory, not only its entries."),
    }),
  },
  install_packages: {
    description: "Install packages into the sandbox: Python packages with pip (default) or npm packages for javascript.",
    input: z.strictObject({
      packages: PackagesRequestSchema.shape.packages.describe('Package specifiers, e.g. ["scikit-learn"] or ["lodash@4"].'),
      language: z.enum(["python", "javascript"]).optional().describe("python (pip, the default) or javascript (npm)."),
    }),
  },
} as const;

export type ToolSpecs = typeof toolSpecs;
export type ToolName = keyof ToolSpecs;
export type ToolInput<N extends ToolName> = z.infer<ToolSpecs[N]["input"]>;
export const TOOL_NAMES = Object.keys(toolSpecs) as ToolName[];

export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(toolSpecs, name);
}
