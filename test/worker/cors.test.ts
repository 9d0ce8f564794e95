import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../shared/src/index.ts";
import { app } from "../../worker/src/app.ts";
import { TEST_KEYS } from "./bindings.ts";
import type { ErrorReply } from "./test-app.ts";

// The CORS policy (worker/src/cors.ts) through the whole app, in envs of this file's own (workerConfig parses each env
// object once): pages of a listed origin may call the API; no other origin's page gets an answer it can read, and a
// credential from an unlisted origin is refused before anything runs.
const LISTED = "https://app.example.com";
const OTHER = "https://evil.example.net";
const listed = { ...env, CORS_ORIGINS: `${LISTED}, http://127.0.0.1:5173` };
const call = (path: string, init: RequestInit & { origin?: string; auth?: string }, e: Env = listed) => {
  const headers = new Headers(init.headers);
  if (init.origin !== undefined) headers.set("Origin", init.origin);
  if (init.auth !== undefined) headers.set("Authorization", `Bearer ${init.auth}`);
  return Promise.resolve(app.request(`http://threadbox.test${path}`, { ...init, headers }, e));
};
const preflight = (origin: string, method = "POST", headers = "authorization, content-type") =>
  call("/v1/threads/demo/exec", { method: "OPTIONS", origin, headers: { "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers } });

describe("CORS preflights", () => {
  it("are answered for a listed origin, before authentication, without allowing cookies", async () => {
    const res = await preflight(LISTED);
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(LISTED);
    expect(res.headers.get("Access-Control-Allow-Methods")?.split(", ")).toEqual(expect.arrayContaining(["GET", "POST", "PUT", "DELETE"]));
    expect(res.headers.get("Access-Control-Allow-Headers")?.toLowerCase().split(", ")).toEqual(expect.arrayContaining(["authorization", "content-type", "accept"]));
    expect(Number(res.headers.get("Access-Control-Max-Age"))).toBeGreaterThan(0);
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    expect(res.headers.get("Vary")).toContain("Origin");
    expect((await call("/v1/health", { method: "OPTIONS", origin: "http://127.0.0.1:5173", headers: { "Access-Control-Request-Method": "GET" } })).status).toBe(204);
  });

  it("are refused for any other origin, with no CORS header", async () => {
    for (const origin of [OTHER, "null", "https://app.example.com.evil.net", "http://app.example.com", "https://app.example.com:444"]) {
      const res = await preflight(origin);
      expect(res.status, origin).toBe(403);
      expect(res.headers.get("Access-Control-Allow-Origin"), origin).toBeNull();
      expect(((await res.json()) as ErrorReply).error.code).toBe("FORBIDDEN");
    }
  });

  it("are refused when no origin is listed (the default)", async () => {
    const res = await call("/v1/threads/demo/exec", { method: "OPTIONS", origin: LISTED, headers: { "Access-Control-Request-Method": "POST" } }, env);
    expect(res.status).toBe(403);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("requests from a browser", () => {
  it("from a listed origin get the origin back and may read the execution id, request id and Retry-After", async () => {
    const res = await call("/v1/threads/no-such-thread", { origin: LISTED, auth: TEST_KEYS.acme });
    expect(res.status).toBe(404);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(LISTED);
    const exposed = res.headers.get("Access-Control-Expose-Headers")?.toLowerCase().split(", ") ?? [];
    expect(exposed).toEqual(expect.arrayContaining(["x-execution-id", "x-request-id", "retry-after"]));
    // Errors too (the page must read why it was refused), and answers without credentials.
    const refused = await call("/v1/threads/demo", { origin: LISTED, auth: "not-a-key" });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBe(LISTED);
    expect((await call("/v1/health", { origin: LISTED }, listed)).headers.get("Access-Control-Allow-Origin")).toBe(LISTED);
  });

  it("get the CORS headers on a streamed execution too, with its id and the request id", async () => {
    const thread = `cors-${crypto.randomUUID().slice(0, 8)}`;
    const json = { "content-type": "application/json" };
    expect((await call("/v1/threads", { method: "POST", auth: TEST_KEYS.acme, headers: json, body: JSON.stringify({ id: thread }) })).status).toBe(201);
    const res = await call(`/v1/threads/${thread}/exec`, {
      method: "POST",
      origin: LISTED,
      auth: TEST_KEYS.acme,
      headers: { ...json, accept: "text/event-stream" },
      body: JSON.stringify({ command: "echo hi" }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(LISTED);
    expect(res.headers.get("Access-Control-Expose-Headers")).toContain("x-execution-id");
    expect(res.headers.get("x-execution-id")).toMatch(/^ex_/);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.headers.get("Vary")).toContain("Origin");
    expect(await res.text()).toContain("event: result");
  });

  it("expose Retry-After on a 429 to a listed origin", async () => {
    const key = `tbk_cors_${crypto.randomUUID().replaceAll("-", "")}`;
    const strict = { ...listed, API_KEYS: JSON.stringify({ [await sha256Hex(key)]: "cors" }), RATE_LIMIT_PER_MINUTE: "1", RATE_LIMIT_BURST: "1" };
    let res: Response | undefined;
    for (let i = 0; i < 3 && res?.status !== 429; i++) res = await call("/v1/threads/t", { origin: LISTED, auth: key }, strict);
    expect(res?.status).toBe(429);
    expect(res?.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(res?.headers.get("Access-Control-Allow-Origin")).toBe(LISTED);
    expect(res?.headers.get("Access-Control-Expose-Headers")).toContain("Retry-After");
  });

  it("with credentials from an unlisted origin are refused before they run", async () => {
    const res = await call("/v1/threads", { method: "POST", origin: OTHER, auth: TEST_KEYS.acme, body: JSON.stringify({ id: "cors-never" }), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(403);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const body = (await res.json()) as ErrorReply;
    expect(body.error.code).toBe("FORBIDDEN");
    expect(body.error.message).toContain("CORS_ORIGINS");
    // The thread was not created: a server-side call (no Origin) finds none.
    expect((await call("/v1/threads/cors-never", { auth: TEST_KEYS.acme })).status).toBe(404);
    // An opaque origin (a sandboxed frame, a file) is no listed origin either.
    expect((await call("/v1/threads/demo", { origin: "null", auth: TEST_KEYS.acme })).status).toBe(403);
  });

  it("without credentials from an unlisted origin pass, but get no CORS header (the browser hides the answer)", async () => {
    const res = await call("/v1/health", { origin: OTHER });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(res.headers.get("Vary")).toContain("Origin");
  });

  it("from the worker's own pages need no listing", async () => {
    const res = await call("/v1/threads/no-such-thread", { origin: "http://threadbox.test", auth: TEST_KEYS.acme }, env);
    expect(res.status).toBe(404);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("CORS_ORIGINS", () => {
  it("refuses anything but exact origins, naming the entry", async () => {
    for (const bad of ["*", "https://*.example.com", "https://app.example.com/path", "ftp://files.example.com", "app.example.com", "https://App.example.com"]) {
      const res = await call("/v1/health", {}, { ...env, CORS_ORIGINS: bad });
      expect(res.status, bad).toBe(500);
      const body = (await res.json()) as ErrorReply;
      expect(body.error.message, bad).toContain("CORS_ORIGINS");
    }
  });
});
