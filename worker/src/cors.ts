import { createMiddleware } from "hono/factory";
import { AppError, ErrorCode, REQUEST_ID_HEADER } from "../../shared/src/index.ts";
import { workerConfig } from "./config.ts";

/** What a page may send: the SDK's headers (credentials, body and answer formats) and a request id of its own. */
export const CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "Accept", "Last-Event-ID", REQUEST_ID_HEADER];
export const CORS_ALLOW_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE"];
/** What a page may read besides the safelisted headers: the execution to resume, the request id, when to retry. */
export const CORS_EXPOSE_HEADERS = ["x-execution-id", REQUEST_ID_HEADER, "Retry-After", "WWW-Authenticate"];
const MAX_AGE_SECONDS = 600;

/**
 * The CORS policy: pages of the origins listed in CORS_ORIGINS may call the API from a browser (with a thread token,
 * typically); preflights are answered here, before authentication, since they carry no credentials. A request from
 * any other origin gets no CORS headers, so the browser keeps the answer from the page, and one that carries
 * credentials is refused outright: a credential is never accepted from an origin nobody listed. The worker's own
 * pages (playground, docs) are same-origin and need no listing. Credentials are bearer headers, never cookies, so
 * `Access-Control-Allow-Credentials` is never sent.
 */
export function cors() {
  return createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const origin = c.req.header("Origin");
    const foreign = origin !== undefined && origin !== new URL(c.req.url).origin;
    const listed = foreign && workerConfig(c.env).corsOrigins.includes(origin);
    if (foreign) {
      c.header("Vary", "Origin");
      if (c.req.method === "OPTIONS" && c.req.header("Access-Control-Request-Method") !== undefined) {
        if (!listed) throw refused(origin);
        return c.body(null, 204, {
          "Access-Control-Allow-Origin": origin,
          "Access-Control-Allow-Methods": CORS_ALLOW_METHODS.join(", "),
          "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS.join(", "),
          "Access-Control-Max-Age": String(MAX_AGE_SECONDS),
        });
      }
      if (!listed && c.req.header("Authorization") !== undefined) throw refused(origin);
    }
    await next();
    // After the route: headers set before it are lost when it answers with a Response of its own (a stream).
    if (!/\borigin\b/i.test(c.res.headers.get("Vary") ?? "")) c.header("Vary", "Origin", { append: true });
    if (listed) {
      c.header("Access-Control-Allow-Origin", origin);
      c.header("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS.join(", "));
    }
  });
}

function refused(origin: string): AppError {
  return new AppError(ErrorCode.FORBIDDEN, `origin ${origin} may not call this API from a browser: it is not in CORS_ORIGINS`, { origin });
}
