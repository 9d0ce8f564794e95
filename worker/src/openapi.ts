import { z } from "zod";
import { ErrorBodySchema, ExecutionEventSchema, ProcessLogMessageSchema } from "../../shared/src/index.ts";
import { errorResponses } from "./openapi-errors.ts";
import { REQUEST_EXAMPLES } from "./openapi-examples.ts";
import { type Op, PATH_PARAMS, ROUTES, TAGS, codesOf } from "./openapi-routes.ts";

/**
 * The OpenAPI document (`GET /openapi.json`, rendered at `/docs`): every route the worker serves but its pages
 * (openapi-routes.ts), from the zod schemas that validate them, with each error code a route can answer
 * (openapi-errors.ts) and the README's request examples (openapi-examples.ts).
 */
const json = (schema: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(schema, { io, unrepresentable: "any", target: "openapi-3.0" });

const EVENTS = json(ExecutionEventSchema, "output");
const EVENT_LOG = json(z.object({ execution_id: z.string(), events: z.array(ExecutionEventSchema) }), "output");
/** Whatever else may go wrong (a platform failure): the same error body. */
const OTHER_ERROR = { description: "Another error: the same body, its code one of shared/src/errors.ts", content: { "application/json": { schema: json(ErrorBodySchema, "output") } } };
const EXECUTION_ID_HEADER = { "x-execution-id": { description: "The execution's id (resume its events with it)", schema: { type: "string" } } };

function success(op: Op): object {
  if (op.ok === "bytes") return { description: "The file's bytes", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } };
  if (op.ok === "events") {
    return {
      description: "The events: all of them in one JSON document at the end, or streamed as SSE (`id: seq`) or NDJSON",
      headers: EXECUTION_ID_HEADER,
      content: { "application/json": { schema: EVENT_LOG }, "text/event-stream": { schema: EVENTS }, "application/x-ndjson": { schema: EVENTS } },
    };
  }
  if (op.ok === "process-logs") {
    const messages = json(ProcessLogMessageSchema, "output");
    return { description: "The retained log, then live entries until the process ends (`end`): SSE (`id: seq`) or NDJSON", content: { "text/event-stream": { schema: messages }, "application/x-ndjson": { schema: messages } } };
  }
  if (op.ok === "mcp") {
    return {
      description: "JSON-RPC answers: an SSE stream (progress notifications, then the result) or one JSON document",
      content: { "text/event-stream": { schema: { type: "string" } }, "application/json": { schema: { type: "object" } } },
    };
  }
  if ("execution" in op.ok) {
    return {
      description: "The result (JSON, also when the code failed: see its exit code or error), or the events as they happen (SSE, NDJSON), ending with a `result` or `error` event",
      headers: EXECUTION_ID_HEADER,
      content: { "application/json": { schema: json(op.ok.execution, "output") }, "text/event-stream": { schema: EVENTS }, "application/x-ndjson": { schema: EVENTS } },
    };
  }
  return { description: "OK", content: { "application/json": { schema: json(op.ok, "output") } } };
}

function requestBody(op: Op): object | undefined {
  if (op.bytesIn) {
    return { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" }, example: "a,b\n1,2\n" } } };
  }
  if (!op.body) return undefined;
  const examples = REQUEST_EXAMPLES[op.id];
  return { required: true, content: { "application/json": { schema: json(op.body, "input"), ...(examples ? { examples } : {}) } } };
}

function operation(path: string, op: Op): object {
  const params = [...path.matchAll(/\{(\w+)\}/g)].map(([, name = ""]) => {
    const known = PATH_PARAMS[name];
    return { name, in: "path", required: true, description: known?.description, schema: json(known?.schema ?? z.string(), "input") };
  });
  const query = Object.entries(op.query ?? {}).map(([name, q]) => ({ name, in: "query", required: false, description: q.description, schema: json(q.schema, "input") }));
  const body = requestBody(op);
  const ok = success(op);
  const also = Object.fromEntries(Object.entries(op.alsoOk ?? {}).map(([status, description]) => [status, { ...ok, description }]));
  return {
    operationId: op.id,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    parameters: [...params, ...query],
    ...(op.auth === false ? { security: [] } : {}),
    ...(body ? { requestBody: body } : {}),
    responses: { [String(op.status ?? 200)]: ok, ...also, ...errorResponses(codesOf(op)), default: OTHER_ERROR },
  };
}

let cached: object | undefined;

export function openApiDocument(): object {
  cached ??= {
    openapi: "3.0.3",
    info: {
      title: "threadbox",
      version: "0.1.0",
      description:
        "Per-thread, persistent code sandboxes for AI agent chat apps. Every `/v1` route but `/v1/health` takes `Authorization: Bearer <API key or thread token>`. " +
        "Errors are `{error: {code, message, details?, request_id}}`, one HTTP status per code. Try it in the playground: `/playground`.",
    },
    tags: TAGS,
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API key or thread token" } } },
    security: [{ bearer: [] }],
    paths: Object.fromEntries(
      Object.entries(ROUTES).map(([path, ops]) => [path, Object.fromEntries(Object.entries(ops).map(([m, op]) => [m, operation(path, op)]))]),
    ),
  };
  return cached;
}
