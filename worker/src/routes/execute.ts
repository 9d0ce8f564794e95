import { Hono } from "hono";
import type { Context } from "hono";
import {
  ExecRequestSchema,
  PackagesRequestSchema,
  RunCodeSchema,
  RunPythonParamsSchema,
  RunPythonToolSchema,
} from "../../../shared/src/index.ts";
import type { ExecuteRequest } from "../do/executor.ts";
import { type AppEnv, call, threadFromPath } from "../http/context.ts";
import { respondWithEvents } from "../http/execution-response.ts";
import { jsonBody } from "../http/request.ts";

/** Queues an execution in the thread's Durable Object and answers in the client's format as events arrive. */
async function submit(c: Context<AppEnv>, threadId: string, req: Omit<ExecuteRequest, "executionId">): Promise<Response> {
  const { stub, access } = threadFromPath(c, threadId);
  const executionId = `ex_${crypto.randomUUID().replaceAll("-", "")}`;
  const stream = await call(stub.submit(access, { ...req, executionId }));
  return respondWithEvents(c, stream, executionId);
}

const firstLine = (text: string) => (text.split("\n").find((l) => l.trim() !== "") ?? "").slice(0, 200);

export function executeRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/v1/threads/:thread/exec", async (c) => {
    const body = await jsonBody(c, ExecRequestSchema);
    return submit(c, c.req.param("thread"), { kind: "exec", body, summary: firstLine(body.command) });
  });

  app.post("/v1/threads/:thread/run_python", async (c) => {
    const body = await jsonBody(c, RunPythonParamsSchema);
    return submit(c, c.req.param("thread"), { kind: "run_python", body, summary: firstLine(body.code) });
  });

  /** seed 003's tool call exactly: `sandbox_id` names the thread. */
  app.post("/v1/tools/run_python", async (c) => {
    const { sandbox_id, ...body } = await jsonBody(c, RunPythonToolSchema);
    return submit(c, sandbox_id, { kind: "run_python", body, summary: firstLine(body.code) });
  });

  /** Installs Python packages into the thread's venv (recorded in its manifest), or npm packages (`javascript`). */
  app.post("/v1/threads/:thread/packages", async (c) => {
    const body = await jsonBody(c, PackagesRequestSchema);
    return submit(c, c.req.param("thread"), { kind: "install", body, summary: `${body.language}: ${body.packages.join(" ")}`.slice(0, 200) });
  });

  app.post("/v1/threads/:thread/run_code", async (c) => {
    const r = await jsonBody(c, RunCodeSchema);
    const thread = c.req.param("thread");
    const summary = `${r.language}: ${firstLine(r.code)}`;
    const { language, code, ...rest } = r;
    if (language === "python") {
      // run_python names the environment and the directory its own way (seed 003); everything else carries over.
      const { env, cwd, ...common } = rest;
      const body = RunPythonParamsSchema.parse({ ...common, code, ...(env ? { environment: env } : {}), ...(cwd ? { working_dir: cwd } : {}) });
      return submit(c, thread, { kind: "run_python", body, summary });
    }
    if (language === "bash") {
      const body = ExecRequestSchema.parse({ ...rest, command: code });
      return submit(c, thread, { kind: "exec", body, summary });
    }
    return submit(c, thread, { kind: "run_code", body: r, summary });
  });

  return app;
}
