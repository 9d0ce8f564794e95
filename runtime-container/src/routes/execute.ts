import { Hono } from "hono";
import {
  EXECUTION_ID_HEADER,
  EXECUTION_KIND_NAMES,
  type CaptureScreenshot,
  type ExecutionKind,
  type RunLimitsRequest,
  kindSpec,
  validationError,
} from "../../../shared/src/index.ts";
import { HANDLERS } from "../executions/handlers.ts";
import type { KindHandler } from "../executions/kind-handler.ts";
import { capturePlan } from "../gui/capture-plan.ts";
import { withEnv, withScreenshots } from "../gui/screenshots.ts";
import { resolveLimits } from "../sandbox/limits.ts";
import { executionIdHeader, jsonBody } from "../server/request.ts";
import { respondWithExecution } from "../server/respond.ts";
import { threadOf } from "../server/thread.ts";
import type { Services } from "../services.ts";

/**
 * One route per execution kind of the table (shared/src/execution-kinds.ts): parse with the kind's schema, check the
 * limits, let the kind's handler accept the call (executions/handlers.ts), then run it as an execution answered as
 * JSON, SSE or NDJSON, with the screenshot session it asked for.
 */
export function executeRoutes(s: Services): Hono {
  const app = new Hono();

  for (const kind of EXECUTION_KIND_NAMES) {
    const spec = kindSpec(kind);
    const handler = HANDLERS[kind] as KindHandler<ExecutionKind>;
    app.post(`/threads/:tenant/:thread/${spec.path}`, async (c) => {
      const loc = threadOf(c, s);
      const params: Record<string, string> = {};
      for (const [name, schema] of Object.entries(spec.params ?? {})) {
        const parsed = schema.safeParse(c.req.param(name));
        if (!parsed.success) throw validationError(name, parsed.error);
        params[name] = parsed.data;
      }
      const req = (await jsonBody(c, spec.request)) as { limits?: RunLimitsRequest; capture_screenshot?: CaptureScreenshot };
      // Limits above the runtime's maxima are a 400 now, before anything of the call is written.
      resolveLimits(s.config, req.limits);
      // So is a region outside the runtime's screen.
      const shots = capturePlan(req.capture_screenshot, s.config.DISPLAY_SCREEN);
      const work = await handler(s, { loc, req: req as never, params });
      const id = executionIdHeader(c.req.header(EXECUTION_ID_HEADER));
      const stream = s.executions.start(kind, loc, id, async (ctx) => {
        // The session writes its hooks and cookie into the thread's private /tmp: the thread's directories first.
        if (shots) await s.workspaces.ensureDirs(loc);
        return withScreenshots(s.screenshots, loc, ctx, shots, (env) => work(ctx, { env, run: withEnv(s.run, env) }));
      });
      return respondWithExecution(c, stream);
    });
  }

  app.post("/executions/:id/cancel", (c) => {
    const id = executionIdHeader(c.req.param("id")) as string;
    return c.json({ execution_id: id, cancelled: s.executions.cancel(id) });
  });

  return app;
}
