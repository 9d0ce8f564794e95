import { Hono } from "hono";
import type { Context } from "hono";
import {
  AfterQuerySchema,
  ProcessIdSchema,
  ProcessStdinSchema,
  ProcessWaitSchema,
  StartProcessSchema,
  runtimePaths,
  streamFormatFromAccept,
  validationError,
} from "../../../shared/src/index.ts";
import type { ProcessOp } from "../do/thread-processes.ts";
import { type AppEnv, fromRpc, threadFromPath } from "../http/context.ts";
import { callRuntime } from "../http/forward.ts";
import { jsonBody } from "../http/request.ts";

function processId(c: Context<AppEnv>): string {
  const parsed = ProcessIdSchema.safeParse(c.req.param("proc"));
  if (!parsed.success) throw validationError("process id", parsed.error);
  return parsed.data;
}

/**
 * Background processes: management through the thread's object (one RPC; it calls the runtime and keeps the
 * history); the log stream straight from the runtime (a long body stays off RPC).
 */
export function processRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const base = "/v1/threads/:thread/processes";
  const op = async (c: Context<AppEnv>, call: ProcessOp) => {
    const { stub, access, createAs } = threadFromPath(c);
    const { status, body } = await fromRpc(stub.process(access, call, call.op === "start" ? createAs : undefined));
    return new Response(body, { status, headers: { "content-type": "application/json" } });
  };

  app.post(base, async (c) => op(c, { op: "start", body: await jsonBody(c, StartProcessSchema) }));
  app.get(base, (c) => op(c, { op: "list" }));
  app.get(`${base}/:proc`, (c) => op(c, { op: "get", id: processId(c) }));
  app.delete(`${base}/:proc`, (c) => op(c, { op: "stop", id: processId(c) }));
  app.post(`${base}/:proc/stdin`, async (c) => op(c, { op: "stdin", id: processId(c), body: await jsonBody(c, ProcessStdinSchema) }));
  app.post(`${base}/:proc/wait`, async (c) => op(c, { op: "wait", id: processId(c), body: await jsonBody(c, ProcessWaitSchema) }));

  app.get(`${base}/:proc/logs`, async (c) => {
    const id = processId(c);
    const parsed = AfterQuerySchema.safeParse({ after: c.req.query("after") });
    if (!parsed.success) throw validationError("after", parsed.error);
    const format = streamFormatFromAccept(c.req.header("accept")) === "sse" ? "sse" : "ndjson";
    const target = threadFromPath(c);
    const query = `?after=${parsed.data.after}&format=${format}`;
    const res = await callRuntime(c.env, target, { method: "GET", path: `${runtimePaths.processes(target.ref, id)}/logs${query}` });
    return new Response(res.body, { status: res.status, headers: { "content-type": res.headers.get("content-type") ?? "", "cache-control": "no-cache, no-transform" } });
  });

  return app;
}
