import { Hono } from "hono";
import { AppError, ErrorCode, type RuntimeHealth } from "../../../shared/src/index.ts";
import type { Services } from "../services.ts";

/** Workspace lifecycle and runtime health. */
export function threadRoutes(s: Services): Hono {
  const app = new Hono();

  app.get("/health", (c) => {
    const health: RuntimeHealth = {
      ok: true,
      version: "0.1.0",
      isolation: s.sandbox.backend.name,
      python: s.config.PYTHON_BIN,
      uptime_s: Math.round((Date.now() - s.startedAt) / 1000),
      running_executions: s.executions.size,
    };
    return c.json({ ...health, layers: s.sandbox.layers });
  });

  /** Creates and configures the workspace (idempotent). */
  app.post("/threads/:tenant/:thread", async (c) => {
    const loc = s.workspaces.locate(c.req.param("tenant"), c.req.param("thread"));
    await s.workspaces.ensure(loc);
    return c.json({ ...(await s.workspaces.info(loc)), contexts: await s.contexts.list(loc) });
  });

  app.get("/threads/:tenant/:thread", async (c) => {
    const loc = s.workspaces.locate(c.req.param("tenant"), c.req.param("thread"));
    if (!(await s.workspaces.exists(loc))) throw new AppError(ErrorCode.THREAD_NOT_FOUND, `thread ${loc.thread} has no workspace`);
    return c.json({ ...(await s.workspaces.info(loc)), contexts: await s.contexts.list(loc) });
  });

  /** Idle thread: release what the runtime holds for it. Runs hold nothing between calls yet (no contexts). */
  app.post("/threads/:tenant/:thread/release", (c) => {
    const loc = s.workspaces.locate(c.req.param("tenant"), c.req.param("thread"));
    const contexts = s.contexts.release(loc);
    s.logger.info("thread released", { tenant: loc.tenant, thread_id: loc.thread, contexts });
    return c.json({ released: true, contexts });
  });

  app.delete("/threads/:tenant/:thread", async (c) => {
    const loc = s.workspaces.locate(c.req.param("tenant"), c.req.param("thread"));
    s.executions.cancelThread(loc.key);
    s.contexts.release(loc);
    const existed = await s.workspaces.exists(loc);
    await s.workspaces.remove(loc);
    return c.json({ deleted: existed });
  });

  return app;
}
