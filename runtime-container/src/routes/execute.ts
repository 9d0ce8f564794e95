import { Hono } from "hono";
import {
  AppError,
  EXECUTION_ID_HEADER,
  ErrorCode,
  ExecRequestSchema,
  ExecutionIdSchema,
  PackagesRequestSchema,
  RunCodeSchema,
  RunPythonParamsSchema,
  validationError,
} from "../../../shared/src/index.ts";
import { runExec } from "../executions/exec.ts";
import { runPackages } from "../executions/packages.ts";
import { runCode } from "../executions/run-code.ts";
import { runPython } from "../python/run-python.ts";
import { executionIdHeader, jsonBody } from "../server/request.ts";
import { respondWithExecution } from "../server/respond.ts";
import type { Services } from "../services.ts";

/** exec and run_python: parse, then run as an execution answered as JSON, SSE or NDJSON. */
export function executeRoutes(s: Services): Hono {
  const app = new Hono();
  const cap = (timeout: number) => Math.min(timeout, s.config.MAX_TIMEOUT_S);

  app.post("/threads/:tenant/:thread/exec", async (c) => {
    const req = await jsonBody(c, ExecRequestSchema);
    const loc = s.workspaces.locate(c.req.param("tenant"), c.req.param("thread"));
    const stream = s.executions.start("exec", loc, executionIdHeader(c.req.header(EXECUTION_ID_HEADER)), async (ctx) =>
      runExec(s.run, await s.workspaces.ensure(loc), req, cap(req.timeout), ctx),
    );
    return respondWithExecution(c, stream);
  });

  app.post("/threads/:tenant/:thread/run_python", async (c) => {
    const params = await jsonBody(c, RunPythonParamsSchema);
    const cmd = params.options.python_cmd;
    if (cmd && !s.interpreters.includes(cmd)) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, `python_cmd ${cmd} is not offered here; choose one of: ${s.interpreters.join(", ")}`);
    }
    const loc = s.workspaces.locate(c.req.param("tenant"), c.req.param("thread"));
    const stream = s.executions.start("run_python", loc, executionIdHeader(c.req.header(EXECUTION_ID_HEADER)), async (ctx) =>
      runPython(s.python, await s.workspaces.ensure(loc), params, cap(params.timeout), ctx),
    );
    return respondWithExecution(c, stream);
  });

  app.post("/threads/:tenant/:thread/run_code", async (c) => {
    const req = await jsonBody(c, RunCodeSchema);
    const loc = s.workspaces.locate(c.req.param("tenant"), c.req.param("thread"));
    const stream = s.executions.start("run_code", loc, executionIdHeader(c.req.header(EXECUTION_ID_HEADER)), async (ctx) =>
      runCode(s.run, await s.workspaces.ensure(loc), req, cap(req.timeout), ctx),
    );
    return respondWithExecution(c, stream);
  });

  app.post("/threads/:tenant/:thread/packages", async (c) => {
    const req = await jsonBody(c, PackagesRequestSchema);
    const loc = s.workspaces.locate(c.req.param("tenant"), c.req.param("thread"));
    const stream = s.executions.start("install", loc, executionIdHeader(c.req.header(EXECUTION_ID_HEADER)), async (ctx) =>
      runPackages(s.python, await s.workspaces.ensure(loc), req, ctx),
    );
    return respondWithExecution(c, stream);
  });

  app.post("/executions/:id/cancel", (c) => {
    const id = executionIdHeader(c.req.param("id")) as string;
    return c.json({ execution_id: id, cancelled: s.executions.cancel(id) });
  });

  return app;
}
