import { Hono } from "hono";
import { AppError, CreateThreadSchema, ErrorCode } from "../../../shared/src/index.ts";
import { requireDeleteRight, requireKey } from "../auth/middleware.ts";
import { type AppEnv, fromRpc, threadFromPath } from "../http/context.ts";
import { jsonBody } from "../http/request.ts";
import { resolveThreadMounts } from "./thread-mounts.ts";

/** Thread lifecycle: each route is one call of the thread's object (it makes the runtime calls itself). */
export function threadRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  /** Creates the thread and sets its workspace up at once, so the first execution starts warm. */
  app.post("/v1/threads", async (c) => {
    requireKey(c.get("principal"));
    const body = await jsonBody(c, CreateThreadSchema);
    const { ref, stub } = threadFromPath(c, body.id ?? crypto.randomUUID());
    // A fork: the source is the caller's tenant's thread of that id (another tenant's is a thread that does not exist).
    let from: { thread: string; checkpoint: string } | undefined;
    if (body.from) {
      const source = threadFromPath(c, body.from.thread);
      from = { thread: body.from.thread, checkpoint: await fromRpc(source.stub.forkSource(source.access, body.from.checkpoint)) };
    }
    // The thread's object keeps `network` (it survives a move); the runtime applies it (no network when "none").
    // Likewise its import policy (combined with the tenant's IMPORT_POLICY), applied in run_python and contexts.
    // Its read-only mounts (its own and the tenant's defaults) must exist; they too are kept by its object.
    const mounts = await resolveThreadMounts(c.env, ref.tenant, body.mounts);
    const { created, state } = await fromRpc(stub.create(ref, body.network, body.import_policy, mounts, from));
    if (!created || !state) throw new AppError(ErrorCode.THREAD_EXISTS, `thread ${ref.thread} already exists`);
    return c.json(state, 201);
  });

  app.get("/v1/threads/:thread", async (c) => {
    const { stub, access } = threadFromPath(c);
    return c.json(await fromRpc(stub.state(access)));
  });

  /** Workspace and history: an API key, or a token minted with `can_delete` (another thread's is a 404 first). */
  app.delete("/v1/threads/:thread", async (c) => {
    const { ref, stub, access } = threadFromPath(c);
    requireDeleteRight(c.get("principal"));
    await fromRpc(stub.destroy(access));
    return c.json({ id: ref.thread, deleted: true });
  });

  /** Every token minted for the thread so far stops working (API keys only). */
  app.post("/v1/threads/:thread/tokens/revoke", async (c) => {
    requireKey(c.get("principal"));
    const { ref, stub } = threadFromPath(c);
    await fromRpc(stub.revokeTokens());
    return c.json({ thread: ref.thread, revoked: true });
  });

  return app;
}
