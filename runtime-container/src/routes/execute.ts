import { Hono } from "hono";
import type { z } from "zod";
import {
  AppError,
  EXECUTION_ID_HEADER,
  ErrorCode,
  ExecRequestSchema,
  type ExecutionKind,
  PackagesRequestSchema,
  type ResultPayload,
  RunCodeSchema,
  RunPythonParamsSchema,
} from "../../../shared/src/index.ts";
import { runExec } from "../executions/exec.ts";
import { runPackages } from "../executions/packages.ts";
import type { ExecutionContext } from "../executions/registry.ts";
import { runCode } from "../executions/run-code.ts";
import { runPython } from "../python/run-python.ts";
import { executionIdHeader, jsonBody } from "../server/request.ts";
import { respondWithExecution } from "../server/respond.ts";
import type { Services } from "../services.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";

type Work<T> = (ws: ReadyWorkspace, req: T, ctx: ExecutionContext) => Promise<ResultPayload>;

/** The execution routes: parse and check, then run as an execution answered as JSON, SSE or NDJSON. */
export function executeRoutes(s: Services): Hono {
  const app = new Hono();
  const cap = (timeout: number) => Math.min(timeout, s.config.MAX_TIMEOUT_S);

  const route = <S extends z.ZodType>(name: string, kind: ExecutionKind, schema: S, work: Work<z.infer<S>>, check?: (req: z.infer<S>) => void) =>
    app.post(`/threads/:tenant/:thread/${name}`, async (c) => {
      const req = await jsonBody(c, schema);
      check?.(req);
      const loc = s.workspaces.locate(c.req.param("tenant"), c.req.param("thread"));
      const id = executionIdHeader(c.req.header(EXECUTION_ID_HEADER));
      const stream = s.executions.start(kind, loc, id, async (ctx) => work(await s.workspaces.ensure(loc), req, ctx));
      return respondWithExecution(c, stream);
    });

  route("exec", "exec", ExecRequestSchema, (ws, req, ctx) => runExec(s.run, ws, req, cap(req.timeout), ctx));
  route("run_code", "run_code", RunCodeSchema, (ws, req, ctx) => runCode(s.run, ws, req, cap(req.timeout), ctx));
  route("packages", "install", PackagesRequestSchema, (ws, req, ctx) => runPackages(s.python, ws, req, ctx));
  route(
    "run_python",
    "run_python",
    RunPythonParamsSchema,
    (ws, req, ctx) => runPython(s.python, ws, req, cap(req.timeout), ctx),
    (req) => {
      const cmd = req.options.python_cmd;
      if (cmd && !s.interpreters.includes(cmd)) {
        throw new AppError(ErrorCode.VALIDATION_FAILED, `python_cmd ${cmd} is not offered here; choose one of: ${s.interpreters.join(", ")}`);
      }
    },
  );

  app.post("/executions/:id/cancel", (c) => {
    const id = executionIdHeader(c.req.param("id")) as string;
    return c.json({ execution_id: id, cancelled: s.executions.cancel(id) });
  });

  return app;
}
