import { type FlexibleSchema, type Tool, tool } from "ai";
import type { Thread } from "../thread.ts";
import type { Threadbox } from "../threadbox.ts";
import type { ToolOutput } from "../tools/format.ts";
import { runValidTool } from "../tools/run-tool.ts";
import { TOOL_NAMES, type ToolInput, type ToolName, toolSpecs } from "../tools/specs.ts";

export type { ToolOutput } from "../tools/format.ts";
export type { ToolName } from "../tools/specs.ts";

export interface ThreadboxToolsOptions<N extends ToolName = ToolName> {
  /** The client; with `thread` as an id it makes the thread's handle (created on first use). */
  client?: Threadbox;
  /** The conversation's thread: its id (with `client`) or its handle. */
  thread: string | Thread;
  /** Only these tools (default: all). */
  only?: readonly N[];
}

export type ThreadboxToolSet = { [N in ToolName]: Tool<ToolInput<N>, ToolOutput> };

/**
 * The threadbox tools for the Vercel AI SDK (`ai` 6 or 7): pass them to `generateText`/`streamText` as `tools`. Each
 * validates its input with its zod schema, runs on the thread, and gives the model text plus images (figures,
 * screenshots, image files) through `toModelOutput`.
 */
export function threadboxTools<N extends ToolName = ToolName>(opts: ThreadboxToolsOptions<N>): Pick<ThreadboxToolSet, N> {
  const thread = typeof opts.thread === "string" ? clientOf(opts).thread(opts.thread) : opts.thread;
  const names: readonly ToolName[] = opts.only ?? TOOL_NAMES;
  return Object.fromEntries(names.map((name) => [name, threadboxTool(thread, name)])) as Pick<ThreadboxToolSet, N>;
}

function threadboxTool<N extends ToolName>(thread: Thread, name: N): Tool<ToolInput<N>, ToolOutput> {
  return tool<ToolInput<N>, ToolOutput>({
    description: toolSpecs[name].description,
    inputSchema: toolSpecs[name].input as FlexibleSchema<ToolInput<N>>,
    execute: (input, { abortSignal }) => runValidTool(thread, name, input, abortSignal),
    toModelOutput: ({ output }) => toModelOutput(output),
  });
}

function clientOf(opts: { client?: Threadbox | undefined }): Threadbox {
  if (!opts.client) throw new TypeError("threadboxTools: give `client` with a thread id, or a thread handle");
  return opts.client;
}

/** Text, then each image as an `image-data` part: the model sees figures and screenshots, not base64 text. */
export function toModelOutput(output: ToolOutput) {
  if (output.images.length === 0) return output.isError ? { type: "error-text" as const, value: output.text } : { type: "text" as const, value: output.text };
  return {
    type: "content" as const,
    value: [
      { type: "text" as const, text: output.isError ? `Error: ${output.text}` : output.text },
      ...output.images.map((i) => ({ type: "image-data" as const, data: i.data, mediaType: i.mediaType })),
    ],
  };
}
