import { z } from "zod";
import {
  AfterQuerySchema,
  CheckpointListSchema,
  ContextIdSchema,
  ContextInfoSchema,
  ProcessIdSchema,
  CreateContextSchema,
  CreateThreadSchema,
  EXECUTION_KIND_NAMES,
  type ErrorCode,
  ExecutionRecordSchema,
  FileListSchema,
  FileWrittenSchema,
  MountNameSchema,
  RESULT_KINDS,
  RevokedSchema,
  RunPythonResponseSchema,
  RunPythonToolSchema,
  ThreadIdSchema,
  ThreadStateSchema,
  TokenRequestSchema,
  TokenResponseSchema,
  kindSpec,
} from "../../shared/src/index.ts";
import { AUTHENTICATED, EXECUTION, JSON_BODY, OPEN, RUNTIME, THREAD } from "./openapi-errors.ts";
import { MOUNT_ROUTES } from "./openapi-mounts.ts";
import { PREVIEW_ROUTES } from "./openapi-previews.ts";
import { PROCESS_ROUTES } from "./openapi-processes.ts";

/** One documented operation. `errors` are the route's own codes; the shared sets are added from `auth` and `body`. */
export interface Op {
  id: string;
  tag: Tag;
  summary: string;
  description?: string;
  body?: z.ZodType;
  /** Raw bytes in (a file's contents). */
  bytesIn?: true;
  /** The success answer: a schema, raw bytes, an execution's answer (JSON, SSE or NDJSON) or its event log. */
  ok: z.ZodType | "bytes" | { execution: z.ZodType } | "events" | "mcp" | "process-logs";
  status?: number;
  /** Other statuses answering with the success body (health's 503). */
  alsoOk?: Record<string, string>;
  auth?: false;
  query?: Record<string, { schema: z.ZodType; description: string }>;
  errors: ErrorCode[];
}
export type Tag = "Threads" | "Executions" | "Contexts" | "Processes" | "Files" | "Mounts" | "History" | "Tokens" | "Previews" | "MCP" | "Service";

export const TAGS: { name: Tag; description: string }[] = [
  { name: "Threads", description: "A thread is one conversation's sandbox: its workspace, history and contexts." },
  { name: "Executions", description: "Run code. Each answers JSON by default, or streams its events: `Accept: text/event-stream` (SSE, `id: seq`) or `application/x-ndjson`; the `x-execution-id` header names the execution. With an API key, the first execution (or file write, or context) on a thread id never used creates the thread with default settings." },
  { name: "Contexts", description: "Stateful interpreters (Python, JavaScript, TypeScript): variables survive between cells." },
  { name: "Processes", description: "Background processes: servers, watchers, training loops; no timeout but a lifetime cap, logs kept in a bounded ring (resumable with `?after=SEQ`)." },
  { name: "Files", description: "The workspace's files, raw bytes in and out (paths are relative to the workspace; links are never followed)." },
  { name: "Mounts", description: "The tenant's shared read-only file sets (skills, attachments): threads created with `mounts: [{name, path}]` see them read-only at `path` (default `/.skills/<name>`). API keys only." },
  { name: "History", description: "Past executions, their events (resumable with `?after=SEQ`) and cancel; background processes' and terminals' starts and ends." },
  { name: "Tokens", description: "Short-lived tokens for one thread, for browsers and agents you do not trust with an API key." },
  { name: "Previews", description: "Preview URLs of the sandbox's ports (HTTP and WebSocket, capability in the URL) and the terminal WebSocket." },
  { name: "MCP", description: "The Model Context Protocol server: the same tools for MCP clients." },
  { name: "Service", description: "Health and this document; no credentials." },
];

export const PATH_PARAMS: Record<string, { schema: z.ZodType; description: string }> = {
  thread: { schema: ThreadIdSchema, description: "The thread's id (a UUID or 1–64 of A-Z a-z 0-9 _ -)" },
  ctx: { schema: ContextIdSchema, description: "A context id (ctx_…)" },
  proc: { schema: ProcessIdSchema, description: "A background process id (proc_…)" },
  id: { schema: z.string(), description: "An execution id (ex_…)" },
  name: { schema: MountNameSchema, description: "A mount's name (1–63 of a-z 0-9 . _ -)" },
  path: { schema: z.string(), description: "A path inside the workspace, percent-encoded (`data%2Fin.csv` or `data/in.csv`)" },
  port: { schema: z.number().int().min(1).max(65535), description: "A TCP port inside the thread's sandbox (1–65535)" },
};

export const HealthSchema = z.object({
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

/** A JSON-RPC 2.0 message (or a batch of them) of the Model Context Protocol. */
const JsonRpcSchema = z.looseObject({ jsonrpc: z.literal("2.0"), id: z.union([z.string(), z.number()]).optional(), method: z.string().optional() });

const Deleted = z.object({ id: z.string(), deleted: z.boolean() });
const EXECUTION_IDS: Record<string, string> = { exec: "exec", run_python: "runPython", run_code: "runCode", cell: "runCell", run_jupyter: "runJupyter", install: "installPackages", checkpoint: "createCheckpoint", restore: "restoreCheckpoint" };
const KIND_ERRORS: Record<string, ErrorCode[]> = {
  checkpoint: ["CHECKPOINT_LIMIT_EXCEEDED"],
  restore: ["CHECKPOINT_NOT_FOUND"],
  cell: ["CONTEXT_NOT_FOUND", "CONTEXT_BUSY"],
  run_jupyter: ["INVALID_NOTEBOOK", "INVALID_PATH", "FILE_NOT_FOUND", "NOT_A_FILE", "CONTEXT_NOT_FOUND", "CONTEXT_BUSY"],
};
const runErrors: ErrorCode[] = [...THREAD, ...RUNTIME, ...EXECUTION];

/** The execution routes, one per kind of execution-kinds.ts (the table the worker's routes are made from). */
function executionRoutes(): Record<string, Record<string, Op>> {
  return Object.fromEntries(
    EXECUTION_KIND_NAMES.map((kind) => {
      const spec = kindSpec(kind);
      const [first, ...rest] = spec.results.map((r) => RESULT_KINDS[r].schema as z.ZodType);
      const ok = rest.length > 0 ? z.union([first as z.ZodType, ...rest]) : (first as z.ZodType);
      const path = `/v1/threads/{thread}/${spec.path.replace(/:(\w+)/g, "{$1}")}`;
      const op: Op = { id: EXECUTION_IDS[kind] ?? kind, tag: "Executions", summary: spec.doc, body: spec.request, ok: { execution: ok }, errors: [...runErrors, ...(KIND_ERRORS[kind] ?? [])] };
      return [path, { post: op }];
    }),
  );
}

const EXECUTIONS = executionRoutes();

/** Every route the worker serves (but its pages), documented from the same zod schemas that validate it. */
export const ROUTES: Record<string, Record<string, Op>> = {
  ...EXECUTIONS,
  "/v1/threads/{thread}/checkpoints": {
    ...EXECUTIONS["/v1/threads/{thread}/checkpoints"],
    get: { id: "listCheckpoints", tag: "Threads", summary: "The thread's checkpoints, their stored bytes and limits", ok: CheckpointListSchema, errors: [...THREAD, "RUNTIME_UNAVAILABLE"] },
  },
  "/v1/threads/{thread}/checkpoints/{id}": {
    delete: {
      id: "deleteCheckpoint",
      tag: "Threads",
      summary: "Delete a checkpoint (file contents no other checkpoint shares are freed)",
      ok: Deleted,
      errors: [...THREAD, "VALIDATION_FAILED", "CHECKPOINT_NOT_FOUND", "RUNTIME_UNAVAILABLE"],
    },
  },
  "/v1/tools/run_python": {
    post: { id: "runPythonTool", tag: "Executions", summary: "run_python with the tool's exact body (sandbox_id names the thread)", body: RunPythonToolSchema, ok: { execution: RunPythonResponseSchema }, errors: runErrors },
  },
  "/v1/health": {
    get: {
      id: "health",
      tag: "Service",
      summary: "Liveness and each runtime's reachability",
      description: "200 while one runtime answers, 503 (the same body) when none does; refreshed every few seconds. No credentials, rate limited per client address.",
      ok: HealthSchema,
      alsoOk: { "503": "No runtime answers (the same body)" },
      auth: false,
      errors: [],
    },
  },
  "/mcp": {
    post: {
      id: "mcp",
      tag: "MCP",
      summary: "The Model Context Protocol (Streamable HTTP, stateless)",
      description:
        "Tools run_python, run_code, exec, install_packages, create_context, run_cell, run_jupyter, write_file, read_file, list_files, start_process, process_logs and create_thread " +
        "(API key only). Send `Accept: application/json, text/event-stream`; a call answers as an SSE stream carrying its progress " +
        "notifications (the run's output, when the request has a progressToken) and then its result. Same credentials and rate limits " +
        "as /v1; a thread token fixes the thread (sandbox_id may be left out). GET and DELETE answer 405.",
      body: z.union([JsonRpcSchema, z.array(JsonRpcSchema)]),
      ok: "mcp",
      errors: ["PAYLOAD_TOO_LARGE"],
    },
    get: { id: "mcpStream", tag: "MCP", summary: "No standalone stream: the server is stateless (405)", ok: z.never(), errors: ["METHOD_NOT_ALLOWED"] },
    delete: { id: "mcpEndSession", tag: "MCP", summary: "No session to end: the server is stateless (405)", ok: z.never(), errors: ["METHOD_NOT_ALLOWED"] },
  },
  "/openapi.json": { get: { id: "openapi", tag: "Service", summary: "This document", description: "No credentials, rate limited per client address.", ok: z.looseObject({}), auth: false, errors: [] } },
  "/v1/tokens": {
    post: {
      id: "mintToken",
      tag: "Tokens",
      summary: "Mint a short-lived token for one existing thread (API key only)",
      description:
        "It works for this incarnation of the thread only, until revoked (per thread or tenant), or until the minting key leaves API_KEYS; " +
        "it may delete the thread only with can_delete. Rate limited per token, under the tenant's ceiling.",
      body: TokenRequestSchema,
      ok: TokenResponseSchema,
      status: 201,
      errors: [...THREAD],
    },
  },
  "/v1/tokens/revoke": { post: { id: "revokeTenantTokens", tag: "Tokens", summary: "Revoke every token of the tenant minted so far (API key only)", ok: RevokedSchema, errors: [] } },
  "/v1/threads": {
    post: { id: "createThread", tag: "Threads", summary: "Create a thread and set up its workspace (API key only)", body: CreateThreadSchema, ok: ThreadStateSchema, status: 201, errors: ["THREAD_EXISTS", "MOUNT_NOT_FOUND", ...RUNTIME, "THREAD_NOT_FOUND", "CHECKPOINT_NOT_FOUND", "CHECKPOINT_LIMIT_EXCEEDED"] },
  },
  "/v1/threads/{thread}": {
    get: { id: "getThread", tag: "Threads", summary: "Thread state: runtime, workspace (Python, packages, contexts, disk), execution counts", ok: ThreadStateSchema, errors: [...THREAD, "RUNTIME_UNAVAILABLE"] },
    delete: { id: "deleteThread", tag: "Threads", summary: "Delete the thread, its workspace and history (API key, or a token minted with can_delete)", ok: Deleted, errors: [...THREAD, "RUNTIME_UNAVAILABLE"] },
  },
  "/v1/threads/{thread}/tokens/revoke": {
    post: { id: "revokeThreadTokens", tag: "Tokens", summary: "Revoke every token of the thread minted so far (API key only)", ok: RevokedSchema, errors: [...THREAD] },
  },
  "/v1/threads/{thread}/contexts": {
    post: { id: "createContext", tag: "Contexts", summary: "Start a stateful interpreter context", body: CreateContextSchema, ok: ContextInfoSchema, status: 201, errors: [...THREAD, ...RUNTIME] },
    get: { id: "listContexts", tag: "Contexts", summary: "The thread's contexts on its runtime", ok: z.object({ contexts: z.array(ContextInfoSchema) }), errors: [...THREAD, "RUNTIME_UNAVAILABLE"] },
  },
  "/v1/threads/{thread}/contexts/{ctx}": {
    get: { id: "getContext", tag: "Contexts", summary: "One context (status, memory)", ok: ContextInfoSchema, errors: [...THREAD, "VALIDATION_FAILED", "CONTEXT_NOT_FOUND", "RUNTIME_UNAVAILABLE"] },
    delete: { id: "deleteContext", tag: "Contexts", summary: "Stop a context", ok: Deleted, errors: [...THREAD, "VALIDATION_FAILED", "CONTEXT_NOT_FOUND", "RUNTIME_UNAVAILABLE"] },
  },
  "/v1/threads/{thread}/contexts/{ctx}/restart": {
    post: {
      id: "restartContext",
      tag: "Contexts",
      summary: "A fresh interpreter for the context: same id, language, cwd, env and limits; variables gone, execution_count from 0",
      description:
        "A cell running in the context is killed (its result has `error.type: \"Restarted\"`, `state: \"restarted\"`); " +
        "cells sent while the interpreter starts are CONTEXT_BUSY. The next cell's `state` is `preserved` (nothing was lost that was not asked for).",
      ok: ContextInfoSchema,
      errors: [...THREAD, "VALIDATION_FAILED", "CONTEXT_NOT_FOUND", "CONTEXT_BUSY", "RUNTIME_UNAVAILABLE"],
    },
  },
  "/v1/threads/{thread}/executions": {
    get: {
      id: "listExecutions",
      tag: "History",
      summary: "Execution history, newest first",
      description:
        "Executions, and the thread's background processes (`kind: \"process\"`: status running → exited, killed or lost, " +
        "`exit_code`, `error_code` = why it was ended) and terminals (`kind: \"terminal\"`: running → closed, or lost when it ended unseen) " +
        "with their start and end. Processes and terminals are history only: never queued, no events here (a process's output is at `…/processes/{id}/logs`).",
      query: { limit: { schema: z.number().int().min(1).max(200).default(50), description: "How many (1–200)" } },
      ok: z.object({ executions: z.array(ExecutionRecordSchema) }),
      errors: [...THREAD],
    },
  },
  "/v1/threads/{thread}/executions/{id}": {
    get: { id: "getExecution", tag: "History", summary: "One execution (or process or terminal) of the history", ok: ExecutionRecordSchema, errors: [...THREAD, "EXECUTION_NOT_FOUND"] },
  },
  "/v1/threads/{thread}/executions/{id}/events": {
    get: {
      id: "executionEvents",
      tag: "History",
      summary: "Events after ?after=SEQ, then live until the end",
      description: "The stored events, then live ones until the execution ends: JSON (all of them at the end), SSE or NDJSON as `Accept` asks. A client that dropped resumes with the last seq it saw.",
      query: { after: { schema: AfterQuerySchema.shape.after, description: "Only events with a greater seq (-1: all)" } },
      ok: "events",
      errors: [...THREAD, "VALIDATION_FAILED", "EXECUTION_NOT_FOUND"],
    },
  },
  "/v1/threads/{thread}/executions/{id}/cancel": {
    post: {
      id: "cancelExecution",
      tag: "History",
      summary: "Cancel a queued or running execution (TERM, then KILL)",
      ok: z.object({ execution_id: z.string(), cancelled: z.boolean() }),
      errors: [...THREAD, "EXECUTION_NOT_FOUND", "RUNTIME_UNAVAILABLE"],
    },
  },
  "/v1/threads/{thread}/files": {
    get: {
      id: "listFiles",
      tag: "Files",
      summary: "List a directory",
      query: {
        path: { schema: z.string().default(""), description: "The directory (default: the workspace root)" },
        recursive: { schema: z.enum(["0", "1"]).optional(), description: "1: the whole tree under it" },
      },
      ok: FileListSchema,
      errors: [...THREAD, ...RUNTIME, "INVALID_PATH", "FILE_NOT_FOUND", "NOT_A_DIRECTORY"],
    },
  },
  ...PREVIEW_ROUTES,
  "/v1/threads/{thread}/files/{path}": {
    get: { id: "readFile", tag: "Files", summary: "Read a file's bytes", ok: "bytes", errors: [...THREAD, ...RUNTIME, "INVALID_PATH", "FILE_NOT_FOUND", "NOT_A_FILE", "NOT_A_DIRECTORY"] },
    put: {
      id: "writeFile",
      tag: "Files",
      summary: "Write a file's bytes (parents created; replaced atomically)",
      bytesIn: true,
      ok: FileWrittenSchema,
      status: 201,
      errors: [...THREAD, ...RUNTIME, "INVALID_PATH", "NOT_A_FILE", "NOT_A_DIRECTORY", "PAYLOAD_TOO_LARGE", "DISK_QUOTA_EXCEEDED"],
    },
    delete: {
      id: "deleteFile",
      tag: "Files",
      summary: "Delete a file, or (?recursive=1) a directory",
      query: { recursive: { schema: z.enum(["0", "1"]).optional(), description: "1: a directory and everything in it" } },
      ok: z.object({ deleted: z.string() }),
      errors: [...THREAD, ...RUNTIME, "INVALID_PATH", "FILE_NOT_FOUND", "NOT_A_FILE"],
    },
  },
  ...MOUNT_ROUTES,
  ...PROCESS_ROUTES,
};

/** Every code a route may answer with: its own, plus what its credentials and body add. */
export function codesOf(op: Op): ErrorCode[] {
  return [...(op.auth === false ? OPEN : AUTHENTICATED), ...(op.body ? JSON_BODY : []), ...op.errors];
}
