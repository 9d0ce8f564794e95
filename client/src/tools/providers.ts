import { z } from "zod";
import type { ToolOutput } from "./format.ts";
import { TOOL_NAMES, type ToolName, toolSpecs } from "./specs.ts";

export type JsonSchema = Record<string, unknown>;

export interface ToolDefinition {
  name: ToolName;
  description: string;
  /** The tool's input as JSON Schema (draft 2020-12, an object schema), generated from its zod schema. */
  parameters: JsonSchema;
}

export interface ToolSelection {
  /** Only these tools (default: all). */
  only?: readonly ToolName[];
}

/** Every tool (or the chosen ones) with its JSON Schema: the neutral form the provider formats below are made of. */
export function toolDefinitions(opts: ToolSelection = {}): ToolDefinition[] {
  return (opts.only ?? TOOL_NAMES).map((name) => {
    const { $schema: _drop, ...parameters } = z.toJSONSchema(toolSpecs[name].input, { io: "input" }) as JsonSchema;
    return { name, description: toolSpecs[name].description, parameters };
  });
}

/**
 * OpenAI function tools: Chat Completions (`{type: "function", function: {name, description, parameters}}`, the
 * default) or the Responses API (`format: "responses"`: `{type: "function", name, description, parameters}`).
 */
export function openaiTools(opts: ToolSelection & { format?: "chat" | "responses" } = {}) {
  return toolDefinitions(opts).map((t) =>
    opts.format === "responses"
      ? { type: "function" as const, name: t.name, description: t.description, parameters: t.parameters }
      : { type: "function" as const, function: { name: t.name, description: t.description, parameters: t.parameters } },
  );
}

/** Anthropic Messages API tools: `{name, description, input_schema}`. */
export function anthropicTools(opts: ToolSelection = {}) {
  return toolDefinitions(opts).map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));
}

/**
 * The outputs of one assistant turn's tool calls as Chat Completions messages: one `tool` message per call (text only:
 * the API takes no images there), then, when any tool produced images, one `user` message carrying them so the model
 * can see them (after all the `tool` messages, which must follow the assistant message directly).
 */
export function openaiToolMessages(results: readonly { toolCallId: string; output: ToolOutput }[]) {
  const tools = results.map(({ toolCallId, output }) => ({
    role: "tool" as const,
    tool_call_id: toolCallId,
    content: output.isError ? `Error: ${output.text}` : output.text,
  }));
  const images = results.flatMap(({ toolCallId, output }) =>
    output.images.length === 0
      ? []
      : [
          { type: "text" as const, text: `Images from tool call ${toolCallId}:` },
          ...output.images.map((i) => ({ type: "image_url" as const, image_url: { url: `data:${i.mediaType};base64,${i.data}` } })),
        ],
  );
  return images.length === 0 ? tools : [...tools, { role: "user" as const, content: images }];
}

/** A tool output as an Anthropic `tool_result` content block (text and images). */
export function anthropicToolResult(toolUseId: string, output: ToolOutput) {
  return {
    type: "tool_result" as const,
    tool_use_id: toolUseId,
    is_error: output.isError,
    content: [
      { type: "text" as const, text: output.text },
      ...output.images.map((i) => ({ type: "image" as const, source: { type: "base64" as const, media_type: i.mediaType, data: i.data } })),
    ],
  };
}
