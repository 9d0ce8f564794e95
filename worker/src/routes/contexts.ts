import { Hono } from "hono";
import type { Context } from "hono";
import { ContextIdSchema, CreateContextSchema, validationError } from "../../../shared/src/index.ts";
import type { ContextOp } from "../do/thread-calls.ts";
import { type AppEnv, fromRpc, threadFromPath } from "../http/context.ts";
import { jsonBody } from "../http/request.ts";

function contextId(c: Context<AppEnv>): string {
  const parsed = ContextIdSchema.safeParse(c.req.param("ctx"));
  if (!parsed.success) throw validationError("context id", parsed.error);
  return parsed.data;
}

/**
 * Stateful interpreter contexts: management through the thread's object (one RPC; it calls the runtime). Running a
 * cell is an execution kind like any other (routes/execute.ts).
 */
export function contextRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const op = async (c: Context<AppEnv>, call: ContextOp) => {
    const { stub, access, createAs } = threadFromPath(c);
    // A new context on an unknown id creates the thread (an API key's); reading, restarting or stopping one does not.
    const creates = call.method === "POST" && call.id === undefined;
    const { status, body } = await fromRpc(stub.context(access, call, creates ? createAs : undefined));
    return new Response(body, { status, headers: { "content-type": "application/json" } });
  };

  app.post("/v1/threads/:thread/contexts", async (c) => op(c, { method: "POST", body: await jsonBody(c, CreateContextSchema) }));
  app.get("/v1/threads/:thread/contexts", (c) => op(c, { method: "GET" }));
  app.get("/v1/threads/:thread/contexts/:ctx", (c) => op(c, { method: "GET", id: contextId(c) }));
  app.post("/v1/threads/:thread/contexts/:ctx/restart", (c) => op(c, { method: "POST", id: contextId(c), action: "restart" }));
  app.delete("/v1/threads/:thread/contexts/:ctx", (c) => op(c, { method: "DELETE", id: contextId(c) }));

  return app;
}
