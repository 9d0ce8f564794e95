import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex, threadRef } from "../../shared/src/index.ts";
import { keyIdOf, parseApiKeys, tenantForKey } from "../../worker/src/auth/api-keys.ts";
import { base64urlDecode, base64urlEncode } from "../../worker/src/auth/base64url.ts";
import { type Principal, requireKey, requireThreadAccess } from "../../worker/src/auth/middleware.ts";
import { type MintOptions, mintToken, verifyToken } from "../../worker/src/auth/tokens.ts";
import { TEST_KEYS } from "./bindings.ts";
import { type ErrorReply, call } from "./test-app.ts";
import { threadId } from "./thread-api.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";

const CHALLENGE = 'Bearer realm="threadbox"';

async function expectError(res: Response, status: number, code: string): Promise<ErrorReply> {
  const body = (await res.json()) as ErrorReply;
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
  return body;
}

const KEY_IDS = { acme: keyIdOf(await sha256Hex(TEST_KEYS.acme)), beta: keyIdOf(await sha256Hex(TEST_KEYS.beta)) };
/** What a token binds besides tenant and thread; the test app below checks no thread object, only the signature. */
const binding = (tenant: "acme" | "beta") => ({
  incarnation: "0123456789abcdef0123456789abcdef",
  generation: 0,
  tenantGeneration: 0,
  keyId: KEY_IDS[tenant],
  canDelete: false,
});
const mint = (opts: Pick<MintOptions, "thread" | "ttlSeconds" | "now"> & { tenant?: "acme" | "beta" }, secret = env.TOKEN_SECRET) =>
  mintToken(secret, { ...binding(opts.tenant ?? "acme"), ...opts, tenant: opts.tenant ?? "acme" });
const tokenPrincipal = (thread: string): Principal => ({
  tenant: "acme",
  via: "token",
  thread,
  grant: { incarnation: "0123456789abcdef0123456789abcdef", generation: 0 },
  tokenId: "0123456789abcdef",
  tenantGeneration: 0,
  canDelete: false,
});

async function tokenFor(thread: string): Promise<string> {
  return (await mint({ thread, ttlSeconds: 300 })).token;
}

describe("API keys", () => {
  it("maps a valid key to its tenant", async () => {
    const res = await call("/v1/threads/t1", { auth: `Bearer ${TEST_KEYS.acme}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ thread: "t1", principal: { tenant: "acme", via: "key", keyId: KEY_IDS.acme } });
    const beta = await call("/v1/threads/t1", { auth: `bearer  ${TEST_KEYS.beta}` });
    const { principal } = (await beta.json()) as { principal: unknown };
    expect(principal).toEqual({ tenant: "beta", via: "key", keyId: KEY_IDS.beta });
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
    const grant = { incarnation: binding("acme").incarnation, generation: 0 };
    const principal = { tenant: "acme", via: "token", thread: "thread-a", grant, tenantGeneration: 0, canDelete: false };
    expect(await res.json()).toMatchObject({ thread: "thread-a", principal });
  });

  it("answers THREAD_NOT_FOUND, like a missing thread, for a token used on another thread", async () => {
    const res = await call("/v1/threads/thread-b", { auth: `Bearer ${await tokenFor("thread-a")}` });
    expect((await expectError(res, 404, "THREAD_NOT_FOUND")).error.message).toBe("thread thread-b not found");
    expect(() => requireThreadAccess(tokenPrincipal("a"), "b")).toThrow(expect.objectContaining({ code: "THREAD_NOT_FOUND" }));
    expect(() => requireThreadAccess({ tenant: "acme", via: "key", keyId: KEY_IDS.acme }, "b")).not.toThrow();
  });

  it("answers 401 for expired, forged, alg:none and tampered tokens", async () => {
    const claims = { thread: "t1", ttlSeconds: 60 };
    const expired = (await mint({ ...claims, now: 1_000_000 })).token;
    const forged = (await mint(claims, "another-secret-of-at-least-32-characters")).token;
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
    // Tokens are for threads that exist (bound to their incarnation): made here straight in the thread's object.
    const thread = threadId("thread-x");
    await threadStub(env, threadRef("beta", thread)).create(threadRef("beta", thread));
    const res = await post(`Bearer ${TEST_KEYS.beta}`, JSON.stringify({ thread, ttl_seconds: 120 }));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { token: string; thread: string; expires_at: string };
    expect(body.thread).toBe(thread);
    expect(await verifyToken(env.TOKEN_SECRET, body.token)).toMatchObject({ tenant: "beta", thread, keyId: KEY_IDS.beta, canDelete: false });
    const lifetime = Date.parse(body.expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(100_000);
    expect(lifetime).toBeLessThanOrEqual(120_000);
  });

  it("refuses a token trying to mint tokens with 403", async () => {
    const res = await post(`Bearer ${await tokenFor("thread-x")}`, JSON.stringify({ thread: "thread-x" }));
    await expectError(res, 403, "FORBIDDEN");
    expect(() => requireKey(tokenPrincipal("t"))).toThrow(expect.objectContaining({ code: "FORBIDDEN" }));
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
