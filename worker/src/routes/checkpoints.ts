import { Hono } from "hono";
import { CheckpointIdSchema, validationError } from "../../../shared/src/index.ts";
import { type AppEnv, fromRpc, threadFromPath } from "../http/context.ts";

/**
 * A thread's checkpoints: listing and deleting, one call of the thread's object each. Taking and restoring one are
 * execution kinds (`POST …/checkpoints`, `POST …/checkpoints/:checkpoint/restore`: routes/execute.ts), queued
 * behind what runs; forking is `from` on `POST /v1/threads` (routes/threads.ts).
 */
export function checkpointRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/v1/threads/:thread/checkpoints", async (c) => {
    const { stub, access } = threadFromPath(c);
    return c.json(await fromRpc(stub.checkpoints(access)));
  });

  app.delete("/v1/threads/:thread/checkpoints/:id", async (c) => {
    const parsed = CheckpointIdSchema.safeParse(c.req.param("id"));
    if (!parsed.success) throw validationError("checkpoint id", parsed.error);
    const { stub, access } = threadFromPath(c);
    return c.json(await fromRpc(stub.checkpoints(access, parsed.data)));
  });

  return app;
}
