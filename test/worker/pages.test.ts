import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

// The pages people look at (worker/src/routes/pages.ts), served from the static assets built into .build/web
// (playground/build.mts) through the ASSETS binding, as wrangler.toml's [assets] configures it.
const get = (path: string, headers: Record<string, string> = {}) => exports.default.fetch(`http://threadbox.test${path}`, { headers, redirect: "manual" });

describe("the pages", () => {
  // The first request of the file loads the worker's modules: slow on a busy machine, so not inside a test's bound.
  beforeAll(() => get("/v1/health").then((r) => r.arrayBuffer()), 60_000);

  it("/ links the playground, the API reference and the document", async () => {
    const res = await get("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    for (const link of ['href="/playground"', 'href="/docs"', 'href="/openapi.json"']) expect(html).toContain(link);
  });

  it("/playground is the playground, its scripts from this origin only, under a strict content security policy", async () => {
    const res = await get("/playground");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<label for="api-key">API key</label>');
    expect(html).toContain('<script type="module" src="/playground/app.js">');
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("serves the bundles compressed when the browser accepts it, and revalidates with the ETag", async () => {
    const res = await get("/playground/app.js", { "Accept-Encoding": "gzip, br" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("javascript");
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const etag = res.headers.get("etag");
    expect(etag).toBeTruthy();
    await res.arrayBuffer();
    const again = await get("/playground/app.js", { "If-None-Match": etag ?? "" });
    expect(again.status).toBe(304);
    const plain = await get("/playground/app.css");
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(await plain.text()).toContain("--accent");
  });

  it("/docs is Swagger UI from this origin, on /openapi.json", async () => {
    const res = await get("/docs");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('src="/docs/swagger-ui-bundle.js"');
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    const bundle = await get("/docs/swagger-ui-bundle.js");
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await get("/docs/docs.js")).status).toBe(200);
    expect((await get("/docs/swagger-ui.css")).status).toBe(200);
  });

  it("answers nothing but the built pages", async () => {
    for (const path of ["/playground/index.html", "/playground/missing.js", "/playground/.hidden", "/docs/..%2F..%2Fwrangler.toml", "/index.html", "/wrangler.toml"]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe("NOT_FOUND");
    }
    const slash = await get("/playground/");
    expect(slash.status).toBe(301);
    expect(slash.headers.get("location")).toBe("/playground");
  });
});
