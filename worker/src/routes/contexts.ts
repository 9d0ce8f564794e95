import { Hono } from "hono";
import { ContextIdSchema, CreateContextSchema, RunCellSchema, runtimePaths, validationError } from "../../../shared/src/index.ts";
import type { Context } from "hono";
import { type AppEnv, call, threadFromPath } from "../http/context.ts";
import { respondWithEvents } from "../http/execution-response.ts";
import { forwardToRuntime } from "../http/forward.ts";
import { jsonBody } from "../http/request.ts";

function contextId(c: Context<AppEnv>): string {
  const parsed = ContextIdSchema.safeParse(c.req.param("ctx"));
  if (!parsed.success) throw validationError("context id", parsed.error);
  return parsed.data;
}

/**
 * Stateful interpreter contexts. Management goes straight to the thread's runtime; a cell is an execution of the
 * thread like any other (queued, recorded, resumable), streamed in the client's format.
 */
export function contextRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/v1/threads/:thread/contexts", async (c) => {
    const body = JSON.stringify(await jsonBody(c, CreateContextSchema));
    return forwardToRuntime(c, "POST", (t, th) => runtimePaths.contexts(t, th), body);
  });
  app.get("/v1/threads/:thread/contexts", (c) => forwardToRuntime(c, "GET", (t, th) => runtimePaths.contexts(t, th)));
  app.get("/v1/threads/:thread/contexts/:ctx", (c) => {
    const id = contextId(c);
    return forwardToRuntime(c, "GET", (t, th) => runtimePaths.contexts(t, th, id));
  });
  app.delete("/v1/threads/:thread/contexts/:ctx", (c) => {
    const id = contextId(c);
    return forwardToRuntime(c, "DELETE", (t, th) => runtimePaths.contexts(t, th, id));
  });

  app.post("/v1/threads/:thread/contexts/:ctx/run", async (c) => {
    const id = contextId(c);
    const body = await jsonBody(c, RunCellSchema);
    const { stub, access } = threadFromPath(c);
    const executionId = `ex_${crypto.randomUUID().replaceAll("-", "")}`;
    const summary = `cell: ${(body.code.split("\n").find((l) => l.trim() !== "") ?? "").slice(0, 190)}`;
    const stream = await call(stub.submit(access, { kind: "cell", body, summary, executionId, contextId: id }));
    return respondWithEvents(c, stream, executionId);
  });

  return app;
}
