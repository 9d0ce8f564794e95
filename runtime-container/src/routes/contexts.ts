import { Hono } from "hono";
import { CreateContextSchema } from "../../../shared/src/index.ts";
import { jsonBody } from "../server/request.ts";
import { threadOf } from "../server/thread.ts";
import type { Services } from "../services.ts";

/** Stateful interpreter contexts: create, list, get, restart, delete. (A cell is an execution kind: routes/execute.ts.) */
export function contextRoutes(s: Services): Hono {
  const app = new Hono();

  app.post("/threads/:tenant/:thread/contexts", async (c) => {
    const req = await jsonBody(c, CreateContextSchema);
    return c.json(await s.contexts.create(threadOf(c, s), req), 201);
  });

  app.get("/threads/:tenant/:thread/contexts", async (c) => c.json({ contexts: await s.contexts.list(threadOf(c, s)) }));

  app.get("/threads/:tenant/:thread/contexts/:ctx", async (c) => c.json(await s.contexts.get(threadOf(c, s), c.req.param("ctx")).info()));

  app.post("/threads/:tenant/:thread/contexts/:ctx/restart", async (c) => c.json(await s.contexts.restart(threadOf(c, s), c.req.param("ctx"))));

  app.delete("/threads/:tenant/:thread/contexts/:ctx", (c) => {
    s.contexts.delete(threadOf(c, s), c.req.param("ctx"));
    return c.json({ id: c.req.param("ctx"), deleted: true });
  });

  return app;
}
