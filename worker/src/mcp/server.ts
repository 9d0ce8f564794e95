import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  type CallToolResult,
  CallToolRequestSchema,
  ErrorCode as RpcErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { z } from "zod";
import { ErrorCode, toAppError, validationError } from "../../../shared/src/index.ts";
import type { Principal } from "../auth/middleware.ts";
import { type ThreadTarget, threadTarget } from "../http/context.ts";
import { ProgressReporter } from "./progress.ts";
import { errorResult } from "./results.ts";
import { TOOL_INPUTS, TOOL_OUTPUTS, type ToolName, needsThread, withSandbox } from "./schemas.ts";
import { TOOLS, type ToolCall } from "./tools.ts";

const NAMES = Object.keys(TOOL_INPUTS) as ToolName[];
const isToolName = (name: string): name is ToolName => Object.hasOwn(TOOL_INPUTS, name);
/** A thread token cannot create threads: the tool is not listed for it (and answers FORBIDDEN if called). */
const listedFor = (caller: Principal["via"]) => NAMES.filter((n) => caller === "key" || n !== "create_thread");

const INSTRUCTIONS =
  "threadbox: persistent code sandboxes, one per thread. Every tool but create_thread takes sandbox_id, the thread " +
  "to work in: use one id per conversation (e.g. the chat's id); files, installed packages and contexts persist in " +
  "it. With an API key a thread is created on first use; with a thread token sandbox_id may be left out.";

const jsonSchema = (schema: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(schema, { io, target: "draft-7", unrepresentable: "any" }) as Tool["inputSchema"];

/** Generated once per kind of caller from the zod schemas the tools validate with. */
const toolLists = new Map<Principal["via"], Tool[]>();
export function toolList(caller: Principal["via"]): Tool[] {
  let tools = toolLists.get(caller);
  if (!tools) {
    tools = listedFor(caller).map((name) => {
      const output = TOOL_OUTPUTS[name];
      const readOnly = name === "read_file" || name === "list_files" || name === "process_logs";
      return {
        name,
        description: TOOLS[name].description,
        inputSchema: jsonSchema(withSandbox(name, caller), "input"),
        ...(output ? { outputSchema: jsonSchema(output, "output") as Tool["outputSchema"] } : {}),
        ...(readOnly ? { annotations: { readOnlyHint: true } } : {}),
      };
    });
    toolLists.set(caller, tools);
  }
  return tools;
}

/** The structured result as its declared schema has it (unknown fields dropped), so clients that check it agree. */
function conform(name: ToolName, result: CallToolResult): CallToolResult {
  const schema = TOOL_OUTPUTS[name];
  if (!schema || result.structuredContent === undefined) return result;
  const parsed = schema.safeParse(result.structuredContent);
  if (parsed.success) return { ...result, structuredContent: parsed.data as Record<string, unknown> };
  console.error(JSON.stringify({ level: "error", msg: "mcp result does not match its output schema", tool: name, issues: parsed.error.issues.slice(0, 5) }));
  return result;
}

type Extra = Parameters<Parameters<Server["setRequestHandler"]>[1]>[1];

async function callTool(env: Env, principal: Principal, name: string, args: unknown, extra: Extra): Promise<CallToolResult> {
  if (!isToolName(name)) throw new McpError(RpcErrorCode.InvalidParams, `unknown tool "${name}"; the tools are ${listedFor(principal.via).join(", ")}`);
  // Arguments the model got wrong are a tool error it can read and fix, not a protocol error.
  const parsed = withSandbox(name, principal.via).safeParse(args ?? {});
  if (!parsed.success) return errorResult(validationError(`arguments for ${name}`, parsed.error));
  const { sandbox_id, ...rest } = parsed.data as { sandbox_id?: string };
  const token = extra._meta?.progressToken;
  const progress =
    token === undefined
      ? undefined
      : new ProgressReporter((update) => extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, ...update } }));
  try {
    const target: ThreadTarget | undefined = needsThread(name)
      ? threadTarget(env, principal, sandbox_id ?? (principal.via === "token" ? principal.thread : undefined))
      : undefined;
    // create_thread alone has no target, and reads its own sandbox_id.
    const call = { env, principal, progress, target } as ToolCall;
    const run = TOOLS[name].run as (input: object, call: ToolCall) => Promise<CallToolResult>;
    return conform(name, await run(target ? rest : parsed.data, call));
  } catch (err) {
    const e = toAppError(err);
    if (e.code === ErrorCode.INTERNAL_ERROR) console.error(JSON.stringify({ level: "error", msg: "mcp tool failed", tool: name, error: String(err) }));
    return errorResult(e);
  } finally {
    await progress?.close();
  }
}

/** Never used (the server asks clients nothing), and keeps a JSON Schema compiler out of the worker's requests. */
const noValidator: jsonSchemaValidator = {
  getValidator: () => () => ({ valid: false, data: undefined, errorMessage: "this server validates nothing with JSON Schema" }),
};

/** An MCP server for one HTTP request of `principal` (stateless: nothing outlives the request). */
export function mcpServer(env: Env, principal: Principal): Server {
  const server = new Server(
    { name: "threadbox", version: "0.1.0" },
    { capabilities: { tools: { listChanged: false } }, instructions: INSTRUCTIONS, jsonSchemaValidator: noValidator },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: toolList(principal.via) }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => callTool(env, principal, request.params.name, request.params.arguments, extra));
  return server;
}
