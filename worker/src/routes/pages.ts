import { Hono } from "hono";
import type { Context } from "hono";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { AppEnv } from "../http/context.ts";

/**
 * The pages people look at, from the static assets bundled with the worker (`[assets]` in wrangler.toml, built by
 * playground/build.mts): the landing page, the playground and the API reference. Each answer gets a strict content
 * security policy (scripts from this origin only; a program's HTML output is shown in sandboxed iframes, never put
 * into the page) and is compressed for the browser.
 */
const SECURITY = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cache-Control": "no-cache",
};

const BASE = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const CSP = {
  landing: `${BASE}; style-src 'self'; img-src 'self' data:; form-action 'none'`,
  // img-src data:/blob: for figures; frame-src for the sandboxed srcdoc iframes of HTML results, which inherit this
  // policy: their inline styles (a DataFrame's table) need style-src 'unsafe-inline'. Scripts stay this origin's only.
  playground: `${BASE}; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; form-action 'none'`,
  // Swagger UI sets inline styles and uses data: icons; its "try it" calls stay on this origin.
  docs: `${BASE}; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'`,
};
type Page = keyof typeof CSP;

/** The page routes, for the OpenAPI test (every other route the worker serves is in the API document). */
export const PAGE_ROUTES = ["/", "/playground", "/playground/:file", "/docs", "/docs/:file"] as const;

const COMPRESSIBLE = /^(text\/|application\/(javascript|json)|image\/svg)/;
const FILE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

async function serve(c: Context<AppEnv>, path: string, page: Page): Promise<Response> {
  const headers = new Headers();
  const etag = c.req.header("If-None-Match");
  if (etag) headers.set("If-None-Match", etag);
  const asset = await c.env.ASSETS.fetch(new URL(path, c.req.url), { headers });
  if (asset.status === 404) throw new AppError(ErrorCode.NOT_FOUND, `no page at ${c.req.path}`);
  const out = new Headers({ ...SECURITY, "Content-Security-Policy": CSP[page] });
  for (const name of ["Content-Type", "ETag"]) {
    const value = asset.headers.get(name);
    if (value) out.set(name, value);
  }
  // workerd compresses a body whose Content-Encoding it is told (and Cloudflare's edge does too): a small first load.
  const type = out.get("Content-Type") ?? "";
  if (asset.status === 200 && COMPRESSIBLE.test(type) && /\bgzip\b/.test(c.req.header("Accept-Encoding") ?? "")) {
    out.set("Content-Encoding", "gzip");
  }
  return new Response(asset.status === 304 ? null : asset.body, { status: asset.status === 304 ? 304 : 200, headers: out });
}

export function pageRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => serve(c, "/index.html", "landing"));
  app.get("/playground", (c) => serve(c, "/playground/index.html", "playground"));
  app.get("/docs", (c) => serve(c, "/docs/index.html", "docs"));
  for (const page of ["playground", "docs"] as const) {
    app.get(`/${page}/`, (c) => c.redirect(`/${page}`, 301));
    app.get(`/${page}/:file`, (c) => {
      const file = c.req.param("file");
      if (!FILE_NAME.test(file) || file === "index.html") throw new AppError(ErrorCode.NOT_FOUND, `no page at ${c.req.path}`);
      return serve(c, `/${page}/${file}`, page);
    });
  }
  return app;
}
