import { Hono } from "hono";
import type { Context } from "hono";
import {
  EXECUTION_KINDS,
  EXECUTION_KIND_NAMES,
  type ExecutionKind,
  RunPythonToolSchema,
  kindSpec,
  newExecutionId,
  validationError,
} from "../../../shared/src/index.ts";
import { type AppEnv, type ThreadTarget, fromRpc, threadFromPath } from "../http/context.ts";
import { formatOf, respondWith } from "../http/execution-response.ts";
import { jsonBody } from "../http/request.ts";

/** Queues an execution in the thread's Durable Object and answers in the client's format as events arrive. */
async function submit(
  c: Context<AppEnv>,
  target: ThreadTarget,
  req: { kind: ExecutionKind; body: unknown; summary: string; params?: Record<string, string> },
): Promise<Response> {
  const executionId = newExecutionId();
  // An API key's first execution on an unknown id creates the thread (the object decides: see ThreadDO.submit).
  const answer = await fromRpc(target.stub.submit(target.access, { ...req, executionId }, formatOf(c), target.createAs));
  return respondWith(c, answer, executionId);
}

/** The kind's path parameters, each checked against its schema (a bad one is a 400 naming it). */
function pathParams(c: Context<AppEnv>, kind: ExecutionKind): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, schema] of Object.entries(kindSpec(kind).params ?? {})) {
    const parsed = schema.safeParse(c.req.param(name));
    if (!parsed.success) throw validationError(name === "ctx" ? "context id" : name, parsed.error);
    params[name] = parsed.data;
  }
  return params;
}

/** One route per execution kind (execution-kinds.ts), plus the run_python tool's exact body. */
export function executeRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  for (const kind of EXECUTION_KIND_NAMES) {
    const spec = kindSpec(kind);
    app.post(`/v1/threads/:thread/${spec.path}`, async (c) => {
      const params = pathParams(c, kind);
      const body = await jsonBody(c, spec.request);
      // run_code's python and bash run as run_python and exec; the record keeps run_code's summary.
      const delegated = spec.delegate?.(body) ?? null;
      return submit(c, threadFromPath(c), { kind, body, summary: spec.summary(body), params, ...delegated });
    });
  }

  /** The run_python tool's call exactly: `sandbox_id` names the thread. */
  app.post("/v1/tools/run_python", async (c) => {
    const { sandbox_id, ...body } = await jsonBody(c, RunPythonToolSchema);
    return submit(c, threadFromPath(c, sandbox_id), { kind: "run_python", body, summary: EXECUTION_KINDS.run_python.summary(body) });
  });

  return app;
}
