/**
 * `threadbox/tools`: agent tools for any model API. Definitions for OpenAI function calling and Anthropic tool use,
 * generated from the same zod schemas, and `runTool(thread, name, args)` to carry out a call.
 */
export { TOOL_NAMES, type ToolInput, type ToolName, isToolName, toolSpecs } from "./specs.ts";
export { type ToolImage, type ToolOutput, MAX_SECTION_CHARS } from "./format.ts";
export { runTool, runValidTool } from "./run-tool.ts";
export { runCell } from "./cell.ts";
export {
  type JsonSchema,
  type ToolDefinition,
  type ToolSelection,
  anthropicToolResult,
  anthropicTools,
  openaiToolMessages,
  openaiTools,
  toolDefinitions,
} from "./providers.ts";
