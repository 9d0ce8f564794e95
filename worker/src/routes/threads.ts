import { Hono } from "hono";
import {
  AppError,
  CreateThreadSchema,
  ErrorCode,
  type ThreadState,
  type WorkspaceInfo,
  runtimePaths,
} from "../../../shared/src/index.ts";
import { requireKey } from "../auth/middleware.ts";
import type { ThreadRow } from "../do/store.ts";
import { type AppEnv, call, threadFromPath } from "../http/context.ts";
import { jsonBody } from "../http/request.ts";
import { runtimeClient } from "../runtime/client.ts";

/** The workspace as the runtime reports it; null while the runtime cannot say (it is down, or never set it up). */
async function workspace(env: Env, method: "GET" | "POST", t: ThreadRow): Promise<WorkspaceInfo | null> {
  const client = runtimeClient(env);
  return client.json<WorkspaceInfo>(t.runtime_url, { method, path: runtimePaths.thread(t.tenant, t.id) }).catch(() => null);
}

function state(t: ThreadRow, ws: WorkspaceInfo | null, counts: ThreadState["counts"]): ThreadState {
  return { id: t.id, created_at: t.created_at, last_active_at: t.last_active_at, workspace: ws, counts };
}

export function threadRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  /** Creates the thread and sets its workspace up at once, so the first execution starts warm. */
  app.post("/v1/threads", async (c) => {
    requireKey(c.get("principal"));
    const body = await jsonBody(c, CreateThreadSchema);
    const { id, tenant, stub } = threadFromPath(c, body.id ?? crypto.randomUUID());
    const { created, thread } = await call(stub.create(tenant, id));
    if (!created) throw new AppError(ErrorCode.THREAD_EXISTS, `thread ${thread.id} already exists`);
    const ws = await workspace(c.env, "POST", thread);
    return c.json(state(thread, ws, { executions: 0, running: 0, queued: 0 }), 201);
  });

  app.get("/v1/threads/:thread", async (c) => {
    const { stub } = threadFromPath(c);
    const { thread, counts } = await call(stub.describe());
    return c.json(state(thread, await workspace(c.env, "GET", thread), counts));
  });

  app.delete("/v1/threads/:thread", async (c) => {
    const { id, stub } = threadFromPath(c);
    await call(stub.destroy());
    return c.json({ id, deleted: true });
  });

  return app;
}
