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
  type RunLimitsRequest,
  RunPythonParamsSchema,
} from "../../../shared/src/index.ts";
import { runExec } from "../executions/exec.ts";
import { runPackages } from "../executions/packages.ts";
import type { ExecutionContext } from "../executions/registry.ts";
import { runCode } from "../executions/run-code.ts";
import { withEnv, withScreenshots } from "../gui/screenshots.ts";
import { runPython } from "../python/run-python.ts";
import { resolveLimits } from "../sandbox/limits.ts";
import type { GuestRunner } from "../runner/guest.ts";
import { executionIdHeader, jsonBody } from "../server/request.ts";
import { respondWithExecution } from "../server/respond.ts";
import type { Services } from "../services.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";

/** `run` is the thread's runner, with the screenshot session's variables when the call asked for screenshots. */
type Work<T> = (ws: ReadyWorkspace, req: T, ctx: ExecutionContext, run: GuestRunner) => Promise<ResultPayload>;

/** The execution routes: parse and check, then run as an execution answered as JSON, SSE or NDJSON. */
export function executeRoutes(s: Services): Hono {
  const app = new Hono();
  const cap = (timeout: number) => Math.min(timeout, s.config.MAX_TIMEOUT_S);

  const route = <S extends z.ZodType>(name: string, kind: ExecutionKind, schema: S, work: Work<z.infer<S>>, check?: (req: z.infer<S>) => void) =>
    app.post(`/threads/:tenant/:thread/${name}`, async (c) => {
      const req = await jsonBody(c, schema);
      check?.(req);
      // Limits above the runtime's maxima are a 400 now, before anything of the call is written.
      resolveLimits(s.config, (req as { limits?: RunLimitsRequest }).limits);
      const loc = s.workspaces.locate(c.req.param("tenant"), c.req.param("thread"));
      // Over its disk quota, the thread starts nothing: a 507 now, before an execution exists (the runner checks again).
      await s.quota.admit(loc, kind === "install" ? "the install was not started" : "the run was not started");
      const id = executionIdHeader(c.req.header(EXECUTION_ID_HEADER));
      const shots = (req as { capture_screenshot?: boolean }).capture_screenshot === true;
      const stream = s.executions.start(kind, loc, id, async (ctx) => {
        const ws = await s.workspaces.ensure(loc);
        return withScreenshots(s.screenshots, loc, ctx, shots, (env) => work(ws, req, ctx, withEnv(s.run, env)));
      });
      return respondWithExecution(c, stream);
    });

  route("exec", "exec", ExecRequestSchema, (ws, req, ctx, run) => runExec(run, ws, req, cap(req.timeout), ctx));
  route("run_code", "run_code", RunCodeSchema, (ws, req, ctx, run) => runCode(run, ws, req, cap(req.timeout), ctx));
  route("packages", "install", PackagesRequestSchema, (ws, req, ctx) => runPackages(s.python, ws, req, ctx));
  route(
    "run_python",
    "run_python",
    RunPythonParamsSchema,
    (ws, req, ctx, run) => runPython({ ...s.python, run }, ws, req, cap(req.timeout), ctx),
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
