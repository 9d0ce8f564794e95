import { Hono } from "hono";
import { AppError, CreateContextSchema, EXECUTION_ID_HEADER, ErrorCode, RunCellSchema } from "../../../shared/src/index.ts";
import { withScreenshots } from "../gui/screenshots.ts";
import { executionIdHeader, jsonBody } from "../server/request.ts";
import { respondWithExecution } from "../server/respond.ts";
import type { Services } from "../services.ts";

/** Stateful interpreter contexts: create, list, get, delete, and run a cell (an execution like any other). */
export function contextRoutes(s: Services): Hono {
  const app = new Hono();
  const locate = (tenant: string, thread: string) => s.workspaces.locate(tenant, thread);

  app.post("/threads/:tenant/:thread/contexts", async (c) => {
    const req = await jsonBody(c, CreateContextSchema);
    return c.json(await s.contexts.create(locate(c.req.param("tenant"), c.req.param("thread")), req), 201);
  });

  app.get("/threads/:tenant/:thread/contexts", async (c) =>
    c.json({ contexts: await s.contexts.list(locate(c.req.param("tenant"), c.req.param("thread"))) }),
  );

  app.get("/threads/:tenant/:thread/contexts/:ctx", async (c) =>
    c.json(await s.contexts.get(locate(c.req.param("tenant"), c.req.param("thread")), c.req.param("ctx")).info()),
  );

  app.delete("/threads/:tenant/:thread/contexts/:ctx", (c) => {
    s.contexts.delete(locate(c.req.param("tenant"), c.req.param("thread")), c.req.param("ctx"));
    return c.json({ id: c.req.param("ctx"), deleted: true });
  });

  app.post("/threads/:tenant/:thread/contexts/:ctx/run", async (c) => {
    const req = await jsonBody(c, RunCellSchema);
    const loc = locate(c.req.param("tenant"), c.req.param("thread"));
    const context = s.contexts.get(loc, c.req.param("ctx"));
    if (context.isBusy) {
      throw new AppError(ErrorCode.CONTEXT_BUSY, `context ${context.id} is running a cell; one cell runs at a time`);
    }
    const timeoutS = Math.min(req.timeout, s.config.MAX_TIMEOUT_S);
    const stream = s.executions.start("cell", loc, executionIdHeader(c.req.header(EXECUTION_ID_HEADER)), async (ctx) => ({
      kind: "cell",
      value: await withScreenshots(s.screenshots, loc, ctx, req.capture_screenshot, (env) =>
        context.run(ctx.executionId, req.code, timeoutS * 1000, ctx.emit, env),
      ),
    }));
    return respondWithExecution(c, stream);
  });

  return app;
}
