import { z } from "zod";
import {
  ContextInfoSchema,
  CreateContextSchema,
  CreateThreadSchema,
  ErrorBodySchema,
  ExecutionEventSchema,
  ExecutionRecordSchema,
  FileListSchema,
  FileWrittenSchema,
  RunPythonResponseSchema,
  RunPythonToolSchema,
  RevokedSchema,
  ThreadStateSchema,
  TokenRequestSchema,
  TokenResponseSchema,
  EXECUTION_KIND_NAMES,
  RESULT_KINDS,
  kindSpec,
} from "../../shared/src/index.ts";

type Op = { summary: string; body?: z.ZodType; ok: z.ZodType | "bytes" | "events" | "mcp"; status?: number; auth?: false };

const json = (schema: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(schema, { io, unrepresentable: "any", target: "openapi-3.0" });

const EXECUTION = "JSON by default; `Accept: text/event-stream` (SSE, `id: seq`) or `application/x-ndjson` streams the events.";

const HealthSchema = z.object({
  ok: z.boolean(),
  /** Present (true) when a runtime runs without its required isolation layers. */
  degraded: z.literal(true).optional(),
  runtimes: z.object({
    total: z.number().int(),
    healthy: z.number().int(),
    /** By position in RUNTIME_URL, never by address. */
    instances: z.array(z.object({ index: z.number().int(), reachable: z.boolean(), degraded: z.literal(true).optional() })),
  }),
});

/** The execution routes, one per kind of execution-kinds.ts (the table the worker's routes are made from). */
function executionRoutes(): Record<string, Record<string, Op>> {
  return Object.fromEntries(
    EXECUTION_KIND_NAMES.map((kind) => {
      const spec = kindSpec(kind);
      const [first, ...rest] = spec.results.map((r) => RESULT_KINDS[r].schema as z.ZodType);
      const ok = rest.length > 0 ? z.union([first as z.ZodType, ...rest]) : (first as z.ZodType);
      const path = `/v1/threads/{thread}/${spec.path.replace(/:(\w+)/g, "{$1}")}`;
      return [path, { post: { summary: `${spec.doc}. ${EXECUTION}`, body: spec.request, ok } }];
    }),
  );
}

/** A JSON-RPC 2.0 message (or a batch of them) of the Model Context Protocol. */
const JsonRpcSchema = z.looseObject({ jsonrpc: z.literal("2.0"), id: z.union([z.string(), z.number()]).optional(), method: z.string().optional() });
const MCP =
  "The Model Context Protocol (Streamable HTTP, stateless): tools run_python, run_code, exec, install_packages, " +
  "create_context, run_cell, write_file, read_file, list_files, create_thread (API key only). Send " +
  "`Accept: application/json, text/event-stream`; a call answers as an SSE stream carrying its progress notifications " +
  "(the run's output, when the request has a progressToken) and then its result. Same credentials and rate limits as /v1; " +
  "GET and DELETE answer 405 (no session)";

/** Every public route, documented from the same zod schemas that validate it. */
const ROUTES: Record<string, Record<string, Op>> = {
  ...executionRoutes(),
  "/v1/health": {
    get: {
      summary: "Liveness and each runtime's reachability (503 when none answers), refreshed every few seconds; no credentials, rate limited per client address",
      ok: HealthSchema,
      auth: false,
    },
  },
  "/openapi.json": { get: { summary: "This document; no credentials, rate limited per client address", ok: z.looseObject({}), auth: false } },
  "/v1/tokens": {
    post: {
      summary:
        "Mint a short-lived token for one existing thread (API key only). It works for this incarnation of the thread only, " +
        "until revoked (per thread or tenant), or until the minting key leaves API_KEYS; it may delete the thread only with can_delete. " +
        "Rate limited per token, under the tenant's ceiling",
      body: TokenRequestSchema,
      ok: TokenResponseSchema,
      status: 201,
    },
  },
  "/v1/tokens/revoke": { post: { summary: "Revoke every token of the tenant minted so far (API key only)", ok: RevokedSchema } },
  "/v1/threads": {
    post: {
      summary:
        "Create a thread and set up its workspace (409 THREAD_EXISTS for an existing id). With an API key, an execution, " +
        "a file write or a new context on an unknown id creates the thread with default settings; this is for others",
      body: CreateThreadSchema,
      ok: ThreadStateSchema,
      status: 201,
    },
  },
  "/v1/threads/{thread}": {
    get: { summary: "Thread state", ok: ThreadStateSchema },
    delete: {
      summary: "Delete the thread, its workspace and history (API key, or a token minted with can_delete)",
      ok: z.object({ id: z.string(), deleted: z.boolean() }),
    },
  },
  "/v1/threads/{thread}/tokens/revoke": { post: { summary: "Revoke every token of the thread minted so far (API key only)", ok: RevokedSchema } },
  "/v1/tools/run_python": { post: { summary: "run_python with the tool's exact body (sandbox_id names the thread)", body: RunPythonToolSchema, ok: RunPythonResponseSchema } },
  "/v1/threads/{thread}/contexts": {
    post: { summary: "Start a stateful interpreter context", body: CreateContextSchema, ok: ContextInfoSchema, status: 201 },
    get: { summary: "The thread's contexts on its runtime", ok: z.object({ contexts: z.array(ContextInfoSchema) }) },
  },
  "/v1/threads/{thread}/contexts/{ctx}": {
    get: { summary: "One context (status, memory)", ok: ContextInfoSchema },
    delete: { summary: "Stop a context", ok: z.object({ id: z.string(), deleted: z.boolean() }) },
  },
  "/v1/threads/{thread}/executions": { get: { summary: "Execution history, newest first", ok: z.object({ executions: z.array(ExecutionRecordSchema) }) } },
  "/v1/threads/{thread}/executions/{id}": { get: { summary: "One execution", ok: ExecutionRecordSchema } },
  "/v1/threads/{thread}/executions/{id}/events": { get: { summary: "Events after ?after=SEQ, then live until the end", ok: "events" } },
  "/v1/threads/{thread}/executions/{id}/cancel": { post: { summary: "Cancel a queued or running execution", ok: z.object({ execution_id: z.string(), cancelled: z.boolean() }) } },
  "/v1/threads/{thread}/files": { get: { summary: "List a directory (?path=, ?recursive=1)", ok: FileListSchema } },
  "/mcp": { post: { summary: MCP, body: z.union([JsonRpcSchema, z.array(JsonRpcSchema)]), ok: "mcp" } },
  "/v1/threads/{thread}/files/{path}": {
    get: { summary: "Read a file's bytes", ok: "bytes" },
    put: { summary: "Write a file's bytes (parents created)", ok: FileWrittenSchema, status: 201 },
    delete: { summary: "Delete a file or (?recursive=1) a directory", ok: z.object({ deleted: z.string() }) },
  },
};

function operation(path: string, op: Op) {
  const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
  const events = json(ExecutionEventSchema, "output");
  const content =
    op.ok === "bytes"
      ? { "application/octet-stream": { schema: { type: "string", format: "binary" } } }
      : op.ok === "events"
        ? { "text/event-stream": { schema: events }, "application/x-ndjson": { schema: events } }
        : op.ok === "mcp"
          ? { "text/event-stream": { schema: { type: "string" } }, "application/json": { schema: json(JsonRpcSchema, "output") } }
          : { "application/json": { schema: json(op.ok, "output") } };
  return {
    summary: op.summary,
    parameters: params,
    ...(op.auth === false ? { security: [] } : {}),
    ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: json(op.body, "input") } } } } : {}),
    responses: {
      [String(op.status ?? 200)]: { description: "OK", content },
      "429": {
        description: op.auth === false ? "RATE_LIMITED for this client address (with Retry-After)" : "RATE_LIMITED (with Retry-After), or THREAD_BUSY",
        content: { "application/json": { schema: json(ErrorBodySchema, "output") } },
      },
      default: { description: "Error", content: { "application/json": { schema: json(ErrorBodySchema, "output") } } },
    },
  };
}

let cached: object | undefined;

export function openApiDocument(): object {
  cached ??= {
    openapi: "3.0.3",
    info: { title: "threadbox", version: "0.1.0", description: "Per-thread, persistent code sandboxes for AI agent chat apps." },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API key or thread token" } } },
    security: [{ bearer: [] }],
    paths: Object.fromEntries(
      Object.entries(ROUTES).map(([path, ops]) => [path, Object.fromEntries(Object.entries(ops).map(([m, op]) => [m, operation(path, op)]))]),
    ),
  };
  return cached;
}
