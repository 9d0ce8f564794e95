import { z } from "zod";
import { ERROR_STATUS, ErrorBodySchema, ErrorCode } from "../../shared/src/index.ts";

/**
 * The error answers of the OpenAPI document: which codes each route can answer with, grouped by their one HTTP status
 * (shared/src/errors.ts), each with an example body. A route lists its own codes; the sets below add what every
 * route of a kind shares (authentication, a JSON body, a thread, a runtime, an execution).
 */
type Code = ErrorCode;

/** Every route with credentials: a bad or revoked credential, a page of an origin not in CORS_ORIGINS, the rate limit. */
export const AUTHENTICATED: Code[] = ["UNAUTHORIZED", "FORBIDDEN", "RATE_LIMITED", "INTERNAL_ERROR"];
/** The routes anyone may call: limited per client address. */
export const OPEN: Code[] = ["RATE_LIMITED", "INTERNAL_ERROR"];
/** A JSON request body, checked against its schema, under MAX_BODY_BYTES. */
export const JSON_BODY: Code[] = ["INVALID_JSON", "VALIDATION_FAILED", "PAYLOAD_TOO_LARGE"];
/** A thread in the path: missing, another tenant's, or not the token's (all the same 404). */
export const THREAD: Code[] = ["THREAD_NOT_FOUND"];
/** A call the thread's runtime answers: it may be away, its storage lost, the workspace not set up. */
export const RUNTIME: Code[] = ["RUNTIME_UNAVAILABLE", "STORAGE_UNAVAILABLE", "WORKSPACE_SETUP_FAILED", "NOT_IMPLEMENTED"];
/** An execution: the queue is full, the thread is over its disk quota, it was cancelled while queued. */
export const EXECUTION: Code[] = ["THREAD_BUSY", "DISK_QUOTA_EXCEEDED", "EXECUTION_CANCELLED"];

/**
 * Codes no documented route answers with (kept for the runtime's own API and older clients; PORT_NOT_LISTENING is a
 * preview URL's, which exposePort's description covers: `/preview/…` is not an API route).
 */
export const UNUSED_PUBLICLY: Code[] = ["UNSUPPORTED_MEDIA_TYPE", "RUNTIME_TIMEOUT", "PORT_NOT_LISTENING"];

/** An example message for each code (exhaustive: a new code without one is a type error). */
const EXAMPLE_MESSAGES: Record<Code, string> = {
  INVALID_JSON: "the request body is not valid JSON",
  VALIDATION_FAILED: "Invalid request: timeout: Too big: expected number to be <=300",
  INVALID_PATH: '"../etc/passwd" is not a path inside the workspace (no "..", NUL or backslash)',
  INVALID_NOTEBOOK: "notebook a.ipynb is not an nbformat 4 notebook (nbformat: only nbformat 4 notebooks can be run)",
  UNAUTHORIZED: "missing Authorization: Bearer <api key or token>",
  FORBIDDEN: "this operation needs an API key; a thread token cannot perform it",
  NOT_FOUND: "no route for GET /v1/nothing",
  THREAD_NOT_FOUND: "thread demo not found",
  FILE_NOT_FOUND: '"data/in.csv" does not exist',
  EXECUTION_NOT_FOUND: "execution ex_0123 not found",
  CONTEXT_NOT_FOUND: "context ctx_0123 not found",
  MOUNT_NOT_FOUND: "no mount named pdf: upload its files with PUT /v1/mounts/pdf/files/<path> first",
  PROCESS_NOT_FOUND: "no process proc_0123 in thread demo",
  PROCESS_NOT_RUNNING: "process proc_0123 is not running or its stdin is closed",
  TOO_MANY_PROCESSES: "thread demo already runs 8 background processes (at most 8); stop one first",
  METHOD_NOT_ALLOWED: "method not allowed",
  NOT_A_FILE: '"data" is a directory, not a file',
  NOT_A_DIRECTORY: '"data/in.csv" is not a directory.',
  THREAD_EXISTS: "thread demo already exists",
  CONTEXT_BUSY: "the context is running another cell",
  EXECUTION_CANCELLED: "the execution was cancelled before it ran",
  PAYLOAD_TOO_LARGE: "request body exceeds 33554432 bytes",
  UNSUPPORTED_MEDIA_TYPE: "unsupported media type",
  THREAD_BUSY: "the thread's queue is full (8 waiting); retry later",
  RATE_LIMITED: "rate limit exceeded: 1200 requests a minute, bursts of 200; retry in 1 s",
  INTERNAL_ERROR: "Internal error.",
  WORKSPACE_SETUP_FAILED: "creating the Python venv failed (exit 1)",
  NOT_IMPLEMENTED: 'this thread has network "none", but this runtime cannot make network namespaces (it needs root)',
  RUNTIME_UNAVAILABLE: "no runtime answered",
  STORAGE_UNAVAILABLE: "the workspace storage is unavailable; retry shortly",
  RUNTIME_TIMEOUT: "the runtime did not answer in time",
  DISK_QUOTA_EXCEEDED: "the thread is over its disk quota: delete files to free space",
  CHECKPOINT_NOT_FOUND: "thread demo has no checkpoint ck_0123456789abcdef01234567",
  CHECKPOINT_LIMIT_EXCEEDED: "thread demo has 20 checkpoints, its limit: delete one first",
  PORT_NOT_LISTENING: "nothing answers on port 8000 inside the thread's sandbox (connect 127.0.0.1:8000: Connection refused); start a server listening on 127.0.0.1:8000 or 0.0.0.0:8000 first",
};

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "output", unrepresentable: "any", target: "openapi-3.0" });

const HEADERS: Partial<Record<number, Record<string, object>>> = {
  401: { "WWW-Authenticate": { description: 'How to authenticate: `Bearer realm="threadbox"`', schema: { type: "string" } } },
  429: { "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer" } } },
};

/** `responses` entries for these codes: one per status, its codes in the description and one example each. */
export function errorResponses(codes: readonly Code[]): Record<string, object> {
  const byStatus = new Map<number, Code[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, object> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const schema = json(ErrorBodySchema.extend({ error: ErrorBodySchema.shape.error.extend({ code: z.enum(list as [Code, ...Code[]]) }) }));
    const examples = Object.fromEntries(
      list.map((code) => [code, { summary: code, value: { error: { code, message: EXAMPLE_MESSAGES[code], request_id: "5f0c6e1e-8a4b-4a57-9d1e-2f3a4b5c6d7e" } } }]),
    );
    out[String(status)] = {
      description: list.join(" | "),
      ...(HEADERS[status] ? { headers: HEADERS[status] } : {}),
      content: { "application/json": { schema, examples } },
    };
  }
  return out;
}

/** Every code, for the test that each one the API answers with is documented somewhere. */
export const ALL_CODES = Object.values(ErrorCode) as Code[];
