import { Hono } from "hono";
import type { Context } from "hono";
import { AppError, ErrorCode, decodeWorkspacePath } from "../../../shared/src/index.ts";
import { deleteWorkspacePath, listWorkspaceDir, readWorkspaceFile, writeWorkspaceFile } from "../files/file-ops.ts";
import { quotaUpload } from "../quota/upload.ts";
import { threadOf } from "../server/thread.ts";
import type { Services } from "../services.ts";
import type { WorkspaceLocation } from "../thread-location.ts";

/** The workspace-relative path after `/files/` (or in `raw`), decoded and checked; "" is the workspace root. */
function filePath(c: Context, raw?: string): string {
  return decodeWorkspacePath(raw ?? c.req.path.replace(/^\/threads\/[^/]+\/[^/]+\/files\/?/, ""));
}

/** Raw file bytes in and out, listing and deletion, all confined to the workspace (no link is ever followed). */
export function fileRoutes(s: Services): Hono {
  const app = new Hono();
  const existing = async (c: Context): Promise<WorkspaceLocation> => {
    const loc = threadOf(c, s);
    if (!(await s.workspaces.exists(loc))) throw new AppError(ErrorCode.THREAD_NOT_FOUND, `thread ${loc.thread} has no workspace`);
    return loc;
  };

  app.get("/threads/:tenant/:thread/files", async (c) => {
    const loc = await existing(c);
    // The query value is decoded already: encoded again, it takes the same checks as a path segment (a directory
    // named "a%zz" or "100%" is a name, not an escape).
    const rel = filePath(c, encodeURIComponent(c.req.query("path") ?? ""));
    const recursive = ["1", "true"].includes(c.req.query("recursive") ?? "");
    return c.json(await listWorkspaceDir(loc.dir, rel, { recursive }));
  });

  app.get("/threads/:tenant/:thread/files/*", async (c) => {
    const loc = await existing(c);
    const file = await readWorkspaceFile(loc.dir, filePath(c), s.config.MAX_FILE_READ_BYTES);
    return new Response(new Uint8Array(file.data), {
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(file.size),
        "last-modified": new Date(file.modified_at).toUTCString(),
      },
    });
  });

  app.put("/threads/:tenant/:thread/files/*", async (c) => {
    const loc = threadOf(c, s);
    const rel = filePath(c);
    if (rel === "") throw new AppError(ErrorCode.INVALID_PATH, "name a file to write, not the workspace root");
    const read = async () => {
      await s.workspaces.ensureDirs(loc);
      return new Uint8Array(await c.req.arrayBuffer());
    };
    const write = (data: Uint8Array) => writeWorkspaceFile(loc.dir, rel, data, { owner: loc.owner });
    // Within the thread's disk quota, counted before a byte is written (507 otherwise).
    return c.json(await quotaUpload(s.quota, loc, rel, c.req.header("content-length"), read, write), 201);
  });

  app.delete("/threads/:tenant/:thread/files/*", async (c) => {
    const loc = await existing(c);
    const rel = filePath(c);
    const recursive = ["1", "true"].includes(c.req.query("recursive") ?? "");
    // Even a failed deletion may have removed part of a tree: the thread's disk usage is measured again.
    await deleteWorkspacePath(loc.dir, rel, { recursive }).finally(() => s.quota.invalidate(loc));
    return c.json({ deleted: rel });
  });

  return app;
}
