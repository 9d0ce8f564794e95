import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex, threadRef } from "../../shared/src/index.ts";
import { app } from "../../worker/src/app.ts";
import { workerConfig } from "../../worker/src/config.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { takeToken } from "../../worker/src/ratelimit/token-bucket.ts";
import type { ErrorReply } from "./test-app.ts";

// The whole app with small limits, in envs of this file's own (workerConfig parses each env object once), with keys
// of its own: nothing changes for the other worker tests. `strict` refills one token every 20 s, so a burst test
// never races the refill; `quick` refills one a second, to watch a refill happen.
const KEYS = {
  one: `tbk_rl_one_${crypto.randomUUID()}`,
  two: `tbk_rl_two_${crypto.randomUUID()}`,
  three: `tbk_rl_three_${crypto.randomUUID()}`,
};
const TENANTS = { [KEYS.one]: "rl-one", [KEYS.two]: "rl-two", [KEYS.three]: "rl-three" };
const API_KEYS = JSON.stringify({
  [await sha256Hex(KEYS.one)]: "rl-one",
  [await sha256Hex(KEYS.two)]: "rl-two",
  [await sha256Hex(KEYS.three)]: "rl-three",
});
const strict = { ...env, API_KEYS, RATE_LIMIT_PER_MINUTE: "3", RATE_LIMIT_BURST: "3" };
const quick = { ...env, API_KEYS, RATE_LIMIT_PER_MINUTE: "60", RATE_LIMIT_BURST: "1" };
type LimitedEnv = typeof strict;

function send(limits: LimitedEnv, path: string, credential?: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (credential) headers.set("authorization", `Bearer ${credential}`);
  return Promise.resolve(app.request(path, { ...init, headers }, limits));
}

/**
 * A key-only route that needs no runtime: mint a token (201). Tokens are for existing threads: the thread is made
 * straight in its object, which costs no request of the key's.
 */
async function mint(key: string, thread = "t1", limits = strict): Promise<Response> {
  const tenant = TENANTS[key] ?? "";
  await threadStub(env, threadRef(tenant, thread)).create(threadRef(tenant, thread));
  return send(limits, "/v1/tokens", key, {
    method: "POST",
    body: JSON.stringify({ thread }),
    headers: { "content-type": "application/json" },
  });
}

async function expectLimited(res: Response, limits = strict): Promise<number> {
  const body = (await res.json()) as ErrorReply & { error: { request_id?: string } };
  expect({ status: res.status, code: body.error.code }).toEqual({ status: 429, code: "RATE_LIMITED" });
  const retryAfter = Number(res.headers.get("Retry-After"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60 / Number(limits.RATE_LIMIT_PER_MINUTE));
  const limit = { limit_per_minute: Number(limits.RATE_LIMIT_PER_MINUTE), burst: Number(limits.RATE_LIMIT_BURST) };
  expect(body.error.details).toEqual({ retry_after: retryAfter, ...limit });
  expect(body.error.request_id).toBeTruthy();
  return retryAfter;
}

describe("rate limits per API key", () => {
  it("answers a burst over the limit with 429 RATE_LIMITED and Retry-After; another key is unaffected", async () => {
    for (let i = 0; i < 3; i++) expect((await mint(KEYS.one)).status).toBe(201);
    await expectLimited(await mint(KEYS.one));
    // Every authenticated route counts, and is refused before it runs.
    await expectLimited(await send(strict, "/v1/threads/anything", KEYS.one));
    await expectLimited(await send(strict, "/v1/no-such-route", KEYS.one));

    expect((await mint(KEYS.two)).status).toBe(201);
    // Health and the OpenAPI document stay open, even with the limited key presented.
    const address = { headers: { "CF-Connecting-IP": "203.0.113.11" } };
    expect((await send(strict, "/v1/health", KEYS.one, address)).status).toBe(200);
    expect((await send(strict, "/openapi.json", KEYS.one, address)).status).toBe(200);
    // A refused credential is a 401, not a 429.
    expect((await send(strict, "/v1/threads/t1", `${KEYS.one}x`)).status).toBe(401);
  });

  it("takes requests again once Retry-After has passed", async () => {
    // Bounded: at one token a second, the bucket of one runs dry within a few requests however slow the machine.
    let limited: Response | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const res = await mint(KEYS.three, "t1", quick);
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(201);
    }
    if (!limited) throw new Error("20 requests at one a second were never limited");
    const retryAfter = await expectLimited(limited, quick);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
    expect((await mint(KEYS.three, "t1", quick)).status).toBe(201);
  });

  it("limits a tenant's thread tokens together, apart from its keys", async () => {
    const tokens: string[] = [];
    for (const thread of ["a", "b"]) tokens.push(((await (await mint(KEYS.two, thread)).json()) as { token: string }).token);
    const [a = "", b = ""] = tokens;
    // Tokens for two threads draw from one bucket: three requests pass, the fourth is refused whichever token.
    for (const token of [a, b, a]) expect((await send(strict, "/v1/threads/a", token)).status).not.toBe(429);
    await expectLimited(await send(strict, "/v1/threads/b", b));
    await expectLimited(await send(strict, "/v1/threads/a", a));
  });
});

describe("configuration", () => {
  it("refuses a burst larger than a minute's refill, naming the setting", () => {
    const bad = { ...env, RATE_LIMIT_PER_MINUTE: "60", RATE_LIMIT_BURST: "61" };
    expect(() => workerConfig(bad)).toThrow(/RATE_LIMIT_BURST: must not exceed RATE_LIMIT_PER_MINUTE/);
    expect(workerConfig(quick).rateLimit).toEqual({ perMinute: 60, burst: 1 });
  });
});

describe("takeToken", () => {
  const limit = { perMinute: 60, burst: 2 };

  it("starts full, refills continuously at the rate, and never above the burst", () => {
    let step = takeToken(undefined, limit, 0);
    expect(step.decision).toEqual({ ok: true, remaining: 1 });
    step = takeToken(step.bucket, limit, 0);
    expect(step.decision).toEqual({ ok: true, remaining: 0 });
    step = takeToken(step.bucket, limit, 500);
    expect(step.decision).toEqual({ ok: false, retryAfterSeconds: 1 });
    step = takeToken(step.bucket, limit, 1000);
    expect(step.decision).toEqual({ ok: true, remaining: 0 });
    step = takeToken(step.bucket, limit, 3_600_000);
    expect(step.decision).toEqual({ ok: true, remaining: 1 });
  });

  it("says how long until one token is back, in whole seconds, at least 1", () => {
    const slow = { perMinute: 6, burst: 1 };
    const empty = takeToken(undefined, slow, 0).bucket;
    expect(takeToken(empty, slow, 0).decision).toEqual({ ok: false, retryAfterSeconds: 10 });
    expect(takeToken(empty, slow, 9_001).decision).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(takeToken(empty, slow, 10_000).decision).toEqual({ ok: true, remaining: 0 });
  });

  it("caps an old bucket at a lowered burst", () => {
    const full = takeToken(undefined, { perMinute: 600, burst: 100 }, 0).bucket;
    expect(takeToken(full, { perMinute: 600, burst: 2 }, 0).decision).toEqual({ ok: true, remaining: 1 });
  });
});
