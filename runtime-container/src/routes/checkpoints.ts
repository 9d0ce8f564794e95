import { Hono } from "hono";
import type { Context } from "hono";
import { AppError, CheckpointIdSchema, ErrorCode, RuntimeForkSchema, threadRef, validationError } from "../../../shared/src/index.ts";
import { jsonBody } from "../server/request.ts";
import { threadOf } from "../server/thread.ts";
import type { Services } from "../services.ts";

function checkpointId(c: Context): string {
  const parsed = CheckpointIdSchema.safeParse(c.req.param("id"));
  if (!parsed.success) throw validationError("checkpoint id", parsed.error);
  return parsed.data;
}

/**
 * A thread's checkpoints besides taking and restoring one (execution kinds: executions/checkpoint.ts, restore.ts):
 * listing, deleting, and the fork a new thread starts from.
 */
export function checkpointRoutes(s: Services): Hono {
  const app = new Hono();

  app.get("/threads/:tenant/:thread/checkpoints", async (c) => {
    const loc = threadOf(c, s);
    return c.json(await s.storage.guard(() => s.checkpoints.list(loc)));
  });

  app.delete("/threads/:tenant/:thread/checkpoints/:id", async (c) => {
    const loc = threadOf(c, s);
    const id = checkpointId(c);
    await s.storage.guard(() => s.checkpoints.delete(loc, id));
    return c.json({ id, deleted: true });
  });

  /**
   * A new thread's workspace made from a checkpoint of another thread of the same tenant (the tenant is the path's:
   * the worker only ever names the caller's). Its venv is built afterwards by the set-up call, from the manifest.
   */
  app.post("/threads/:tenant/:thread/fork", async (c) => {
    const body = await jsonBody(c, RuntimeForkSchema);
    const loc = threadOf(c, s);
    const source = s.workspaces.locate(threadRef(loc.tenant, body.from_thread));
    if (await s.workspaces.exists(loc)) throw new AppError(ErrorCode.THREAD_EXISTS, `thread ${loc.thread} already has a workspace`);
    const manifest = await s.storage.guard(() => s.checkpoints.materialize(source, body.checkpoint, loc));
    return c.json({ thread: loc.thread, from_thread: body.from_thread, checkpoint: body.checkpoint, files: manifest.entries.length });
  });

  return app;
}
