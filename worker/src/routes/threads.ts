import { Hono } from "hono";
import {
  AppError,
  CreateThreadSchema,
  ErrorCode,
  type ThreadState,
  type WorkspaceInfo,
  runtimePaths,
} from "../../../shared/src/index.ts";
import { requireDeleteRight, requireKey } from "../auth/middleware.ts";
import type { ThreadAccess } from "../do/access.ts";
import { workerConfig } from "../config.ts";
import { setupCall } from "../do/placement.ts";
import type { ThreadRow } from "../do/store.ts";
import type { ThreadDO } from "../do/thread-do.ts";
import { type AppEnv, call, threadFromPath } from "../http/context.ts";
import { jsonBody } from "../http/request.ts";
import { callThreadRuntime } from "../http/thread-runtime.ts";

/**
 * The workspace as the runtime reports it; null while no runtime can say (all down, or never set it up). Both calls
 * may be sent again on another runtime: GET reads, and setup (POST) is idempotent by design. The setup carries the
 * thread's settings as its Durable Object keeps them.
 */
async function workspace(
  env: Env,
  stub: DurableObjectStub<ThreadDO>,
  access: ThreadAccess,
  method: "GET" | "POST",
): Promise<WorkspaceInfo | null> {
  const request = (t: ThreadRow) => (method === "POST" ? setupCall(t) : { method, path: runtimePaths.thread(t.tenant, t.id) });
  return callThreadRuntime(env, stub, access, true, request)
    .then((res) => res.json<WorkspaceInfo>())
    .catch(() => null);
}

/** The runtime by its position in RUNTIME_URL (never its address); null if the configuration no longer lists it. */
function state(env: Env, t: ThreadRow, ws: WorkspaceInfo | null, counts: ThreadState["counts"]): ThreadState {
  const index = workerConfig(env).runtimeUrls.indexOf(t.runtime_url);
  const runtime = { index: index < 0 ? null : index, placed_at: t.placed_at };
  return { id: t.id, created_at: t.created_at, last_active_at: t.last_active_at, runtime, workspace: ws, counts };
}

export function threadRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  /** Creates the thread and sets its workspace up at once, so the first execution starts warm. */
  app.post("/v1/threads", async (c) => {
    requireKey(c.get("principal"));
    const body = await jsonBody(c, CreateThreadSchema);
    const { id, tenant, stub } = threadFromPath(c, body.id ?? crypto.randomUUID());
    const { created, thread } = await call(stub.create(tenant, id, body.network));
    if (!created) throw new AppError(ErrorCode.THREAD_EXISTS, `thread ${thread.id} already exists`);
    // The thread's object keeps `network` (it survives a move); the runtime applies it (no network when "none").
    const ws = await workspace(c.env, stub, null, "POST");
    // Set-up may have moved the thread off a runtime that did not answer.
    const placed = (await call(stub.describe(null))).thread;
    return c.json(state(c.env, placed, ws, { executions: 0, running: 0, queued: 0 }), 201);
  });

  app.get("/v1/threads/:thread", async (c) => {
    const { stub, access } = threadFromPath(c);
    // The workspace first: reading it may move the thread, and the state shows where it is now. (A token the thread's
    // object refuses reaches no runtime; describe then answers why.)
    const ws = await workspace(c.env, stub, access, "GET");
    const { thread, counts } = await call(stub.describe(access));
    return c.json(state(c.env, thread, ws, counts));
  });

  /** Workspace and history: an API key, or a token minted with `can_delete` (another thread's is a 404 first). */
  app.delete("/v1/threads/:thread", async (c) => {
    const { id, stub, access } = threadFromPath(c);
    requireDeleteRight(c.get("principal"));
    await call(stub.destroy(access));
    return c.json({ id, deleted: true });
  });

  /** Every token minted for the thread so far stops working (API keys only). */
  app.post("/v1/threads/:thread/tokens/revoke", async (c) => {
    requireKey(c.get("principal"));
    const { id, stub } = threadFromPath(c);
    await call(stub.revokeTokens());
    return c.json({ thread: id, revoked: true });
  });

  return app;
}
