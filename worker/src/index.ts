import { Hono } from "hono";
import { AppError, ErrorCode, runtimePaths, signRequest, toAppError } from "../../shared/src/index.ts";

/**
 * The public API. This first cut serves liveness and runtime reachability; threads, executions and files
 * arrive with the control-plane work (Durable Objects, auth, streaming).
 */
const app = new Hono<{ Bindings: Env }>();

app.get("/v1/health", async (c) => {
  const base = c.env.RUNTIME_URL.split(",")[0]?.trim() ?? "";
  const path = runtimePaths.health();
  let runtime: "ok" | "unreachable" = "unreachable";
  try {
    const headers = await signRequest(c.env.HMAC_SECRET, { method: "GET", path });
    const res = await fetch(new URL(path, base), { headers, signal: AbortSignal.timeout(3000) });
    if (res.ok) runtime = "ok";
  } catch {
    // unreachable: reported below, never thrown
  }
  return c.json({ ok: true, runtime }, runtime === "ok" ? 200 : 503);
});

app.notFound((c) => {
  const err = new AppError(ErrorCode.NOT_FOUND, `no route for ${c.req.method} ${c.req.path}`);
  return c.json(err.toBody(), err.status);
});
app.onError((raw, c) => {
  const err = toAppError(raw);
  return c.json(err.toBody(), err.status);
});

export default app;
