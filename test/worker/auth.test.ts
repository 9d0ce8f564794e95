import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../shared/src/index.ts";
import { parseApiKeys, tenantForKey } from "../../worker/src/auth/api-keys.ts";
import { base64urlDecode, base64urlEncode } from "../../worker/src/auth/base64url.ts";
import { requireKey, requireThreadAccess } from "../../worker/src/auth/middleware.ts";
import { mintToken, verifyToken } from "../../worker/src/auth/tokens.ts";
import { TEST_KEYS } from "./bindings.ts";
import { type ErrorReply, call } from "./test-app.ts";

const CHALLENGE = 'Bearer realm="threadbox"';

async function expectError(res: Response, status: number, code: string): Promise<ErrorReply> {
  const body = (await res.json()) as ErrorReply;
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
  return body;
}

async function tokenFor(thread: string, tenant = "acme"): Promise<string> {
  return (await mintToken(env.TOKEN_SECRET, { tenant, thread, ttlSeconds: 300 })).token;
}

describe("API keys", () => {
  it("maps a valid key to its tenant", async () => {
    const res = await call("/v1/threads/t1", { auth: `Bearer ${TEST_KEYS.acme}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ thread: "t1", principal: { tenant: "acme", via: "key" } });
    const beta = await call("/v1/threads/t1", { auth: `bearer  ${TEST_KEYS.beta}` });
    const { principal } = (await beta.json()) as { principal: unknown };
    expect(principal).toEqual({ tenant: "beta", via: "key" });
  });

  it("answers 401 with a challenge for a wrong key, no header, or another scheme", async () => {
    const cases: [string | undefined, string][] = [
      [`Bearer ${TEST_KEYS.acme}x`, "invalid API key"],
      [undefined, "missing Authorization: Bearer <api key or token>"],
      [`Basic ${btoa(`acme:${TEST_KEYS.acme}`)}`, "missing Authorization: Bearer <api key or token>"],
      [TEST_KEYS.acme, "missing Authorization: Bearer <api key or token>"],
      ["Bearer ", "missing Authorization: Bearer <api key or token>"],
    ];
    for (const [auth, message] of cases) {
      const res = await call("/v1/threads/t1", auth === undefined ? {} : { auth });
      expect(res.headers.get("WWW-Authenticate")).toBe(CHALLENGE);
      expect((await expectError(res, 401, "UNAUTHORIZED")).error.message).toBe(message);
    }
  });

  it("compares against every stored hash and returns the matching tenant", async () => {
    const entries = [
      [await sha256Hex("k1"), "one"],
      [await sha256Hex("k2"), "two"],
      [await sha256Hex("k3"), "three"],
    ];
    const table = parseApiKeys(JSON.stringify(Object.fromEntries(entries)));
    expect(await tenantForKey(table, "k3")).toBe("three");
    expect(await tenantForKey(table, "k1")).toBe("one");
    expect(await tenantForKey(table, "k4")).toBeNull();
    expect(await tenantForKey(table, "")).toBeNull();
    expect(await tenantForKey(parseApiKeys("{}"), "k1")).toBeNull();
  });

  it("parses API_KEYS once per value and names it when misconfigured", async () => {
    const raw = JSON.stringify({ [await sha256Hex("k1")]: "one" });
    expect(parseApiKeys(raw)).toBe(parseApiKeys(raw));
    const upper = (await sha256Hex("k1")).toUpperCase();
    const badTenant = JSON.stringify({ ["a".repeat(64)]: "../x" });
    for (const bad of ["", "not json", "[]", `{"abc":"one"}`, JSON.stringify({ [upper]: "one" }), badTenant]) {
      const named = expect.objectContaining({ code: "INTERNAL_ERROR", message: expect.stringContaining("API_KEYS") });
      expect(() => parseApiKeys(bad)).toThrow(named);
    }
  });
});

describe("thread tokens", () => {
  it("authenticates a token for its own thread", async () => {
    const res = await call("/v1/threads/thread-a", { auth: `Bearer ${await tokenFor("thread-a")}` });
    const principal = { tenant: "acme", via: "token", thread: "thread-a" };
    expect(await res.json()).toEqual({ thread: "thread-a", principal });
  });

  it("answers THREAD_NOT_FOUND, like a missing thread, for a token used on another thread", async () => {
    const res = await call("/v1/threads/thread-b", { auth: `Bearer ${await tokenFor("thread-a")}` });
    expect((await expectError(res, 404, "THREAD_NOT_FOUND")).error.message).toBe("thread thread-b not found");
    expect(() => requireThreadAccess({ tenant: "acme", via: "token", thread: "a" }, "b")).toThrow(
      expect.objectContaining({ code: "THREAD_NOT_FOUND" }),
    );
    expect(() => requireThreadAccess({ tenant: "acme", via: "key" }, "b")).not.toThrow();
  });

  it("answers 401 for expired, forged, alg:none and tampered tokens", async () => {
    const claims = { tenant: "acme", thread: "t1", ttlSeconds: 60 };
    const expired = (await mintToken(env.TOKEN_SECRET, { ...claims, now: 1_000_000 })).token;
    const forged = (await mintToken("another-secret-of-at-least-32-characters", claims)).token;
    const [header = "", payload = "", signature = ""] = (await tokenFor("t1")).split(".");
    const none = `${base64urlEncode('{"alg":"none"}')}.${payload}.`;
    const json = new TextDecoder().decode(base64urlDecode(payload) ?? new Uint8Array());
    expect(json).toContain('"sub":"acme"');
    const tampered = `${header}.${base64urlEncode(json.replace('"sub":"acme"', '"sub":"beta"'))}.${signature}`;
    for (const token of [expired, forged, none, tampered, `${header}.${payload}.${signature}x`]) {
      const res = await call("/v1/threads/t1", { auth: `Bearer ${token}` });
      expect(res.headers.get("WWW-Authenticate")).toBe(CHALLENGE);
      expect((await expectError(res, 401, "UNAUTHORIZED")).error.message).toBe("invalid or expired token");
    }
  });
});

describe("POST /v1/tokens", () => {
  const post = (auth: string, body: string) =>
    call("/v1/tokens", { method: "POST", auth, body, headers: { "content-type": "application/json" } });

  it("mints a token for a key that verifies for that tenant and thread", async () => {
    const res = await post(`Bearer ${TEST_KEYS.beta}`, JSON.stringify({ thread: "thread-x", ttl_seconds: 120 }));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { token: string; thread: string; expires_at: string };
    expect(body.thread).toBe("thread-x");
    expect(await verifyToken(env.TOKEN_SECRET, body.token)).toEqual({ tenant: "beta", thread: "thread-x" });
    const lifetime = Date.parse(body.expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(100_000);
    expect(lifetime).toBeLessThanOrEqual(120_000);
  });

  it("refuses a token trying to mint tokens with 403", async () => {
    const res = await post(`Bearer ${await tokenFor("thread-x")}`, JSON.stringify({ thread: "thread-x" }));
    await expectError(res, 403, "FORBIDDEN");
    const token = { tenant: "acme", via: "token", thread: "t" } as const;
    expect(() => requireKey(token)).toThrow(expect.objectContaining({ code: "FORBIDDEN" }));
  });

  it("answers 400 for invalid JSON and for schema violations", async () => {
    const auth = `Bearer ${TEST_KEYS.acme}`;
    await expectError(await post(auth, "{thread:"), 400, "INVALID_JSON");
    const invalid = [
      {},
      { thread: "a/b" },
      { thread: "t", ttl_seconds: 10 },
      { thread: "t", ttl_seconds: 86_401 },
      { thread: "t", extra: 1 },
    ];
    for (const body of invalid) {
      const reply = await expectError(await post(auth, JSON.stringify(body)), 400, "VALIDATION_FAILED");
      expect(reply.error.details).toBeInstanceOf(Array);
    }
  });

  it("needs authentication", async () => {
    await expectError(await post("Bearer nope", JSON.stringify({ thread: "t" })), 401, "UNAUTHORIZED");
  });
});
