import { Hono } from "hono";
import { AfterQuerySchema, validationError } from "../../../shared/src/index.ts";
import { type AppEnv, fromRpc, threadFromPath } from "../http/context.ts";
import { formatOf, respondWith } from "../http/execution-response.ts";

/** Execution history, one execution, its event log (resumable with `?after=SEQ`), and cancel. */
export function executionRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/v1/threads/:thread/executions", async (c) => {
    const { stub, access } = threadFromPath(c);
    const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 50) || 50, 1), 200);
    return c.json({ executions: await fromRpc(stub.executions(access, limit)) });
  });

  app.get("/v1/threads/:thread/executions/:id", async (c) => {
    const { stub, access } = threadFromPath(c);
    return c.json(await fromRpc(stub.execution(access, c.req.param("id"))));
  });

  /** Stored events after `seq`, then live ones until the execution ends. JSON collects them all. */
  app.get("/v1/threads/:thread/executions/:id/events", async (c) => {
    const { stub, access } = threadFromPath(c);
    const query = AfterQuerySchema.safeParse(c.req.query());
    if (!query.success) throw validationError("query", query.error);
    const id = c.req.param("id");
    return respondWith(c, await fromRpc(stub.events(access, id, query.data.after, formatOf(c))), id);
  });

  app.post("/v1/threads/:thread/executions/:id/cancel", async (c) => {
    const { stub, access } = threadFromPath(c);
    return c.json(await fromRpc(stub.cancel(access, c.req.param("id"))));
  });

  return app;
}
