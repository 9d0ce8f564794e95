import { Hono } from "hono";
import { AfterQuerySchema, type ExecutionEvent, parseEvent, parseNdjsonStream, streamFormatFromAccept, validationError } from "../../../shared/src/index.ts";
import { type AppEnv, call, threadFromPath } from "../http/context.ts";
import { respondWithEvents } from "../http/execution-response.ts";

/** Execution history, one execution, its event log (resumable with `?after=SEQ`), and cancel. */
export function executionRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/v1/threads/:thread/executions", async (c) => {
    const { stub, access } = threadFromPath(c);
    const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 50) || 50, 1), 200);
    return c.json({ executions: await call(stub.executions(access, limit)) });
  });

  app.get("/v1/threads/:thread/executions/:id", async (c) => {
    const { stub, access } = threadFromPath(c);
    return c.json(await call(stub.execution(access, c.req.param("id"))));
  });

  /** Stored events after `seq`, then live ones until the execution ends. JSON collects them all. */
  app.get("/v1/threads/:thread/executions/:id/events", async (c) => {
    const { stub, access } = threadFromPath(c);
    const query = AfterQuerySchema.safeParse(c.req.query());
    if (!query.success) throw validationError("query", query.error);
    const id = c.req.param("id");
    const stream = await call(stub.events(access, id, query.data.after));
    if (streamFormatFromAccept(c.req.header("accept")) !== "json") return respondWithEvents(c, stream, id);
    const events: ExecutionEvent[] = [];
    for await (const value of parseNdjsonStream(stream)) events.push(parseEvent(value));
    return c.json({ execution_id: id, events });
  });

  app.post("/v1/threads/:thread/executions/:id/cancel", async (c) => {
    const { stub, access } = threadFromPath(c);
    return c.json(await call(stub.cancel(access, c.req.param("id"))));
  });

  return app;
}
