import { Hono } from "hono";
import { ProcessStdinSchema, ProcessWaitSchema, StartProcessSchema, streamFormatFromAccept } from "../../../shared/src/index.ts";
import { logStream } from "../processes/log-stream.ts";
import { waitFor } from "../processes/wait.ts";
import { jsonBody } from "../server/request.ts";
import { threadOf } from "../server/thread.ts";
import type { Services } from "../services.ts";

/** Background processes: start, list, get, logs (streamed), stdin, wait, stop. */
export function processRoutes(s: Services): Hono {
  const app = new Hono();
  const base = "/threads/:tenant/:thread/processes";
  const proc = (c: Parameters<typeof threadOf>[0]) => s.processes.get(threadOf(c, s), c.req.param("id") ?? "");

  app.post(base, async (c) => c.json(await s.processes.start(threadOf(c, s), await jsonBody(c, StartProcessSchema)), 201));
  app.get(base, (c) => c.json({ processes: s.processes.list(threadOf(c, s)) }));
  app.get(`${base}/:id`, (c) => c.json(proc(c).info()));

  app.get(`${base}/:id/logs`, (c) => {
    const after = Number.parseInt(c.req.query("after") ?? "-1", 10);
    const format = c.req.query("format") === "sse" || streamFormatFromAccept(c.req.header("accept")) === "sse" ? "sse" : "ndjson";
    return logStream(proc(c), Number.isFinite(after) ? Math.max(-1, after) : -1, format);
  });

  app.post(`${base}/:id/stdin`, async (c) => {
    const p = proc(c);
    const req = await jsonBody(c, ProcessStdinSchema);
    return c.json({ id: p.id, written: await p.write(req.data, req.eof ?? false) });
  });

  app.post(`${base}/:id/wait`, async (c) => {
    const p = proc(c);
    const req = await jsonBody(c, ProcessWaitSchema);
    return c.json(await waitFor(p, req, c.req.raw.signal));
  });

  app.delete(`${base}/:id`, async (c) => {
    const p = proc(c);
    await p.stop("stopped");
    return c.json(p.info());
  });

  return app;
}
