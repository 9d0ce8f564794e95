import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../shared/src/index.ts";
import { app } from "../../worker/src/app.ts";
import type { ErrorReply } from "./test-app.ts";
import { threadId } from "./thread-api.ts";

// Thread tokens through the whole app, with tenants and keys of this file's own (so revoking a tenant's tokens here
// touches no other test): bound to the thread's incarnation, deleting only with can_delete, revocable per thread, per
// tenant and by removing the minting key, and rate limited per token under the tenant's ceiling.

const KEYS = {
  a1: `tbk_tok_a1_${crypto.randomUUID()}`,
  a2: `tbk_tok_a2_${crypto.randomUUID()}`,
  b: `tbk_tok_b_${crypto.randomUUID()}`,
  c: `tbk_tok_c_${crypto.randomUUID()}`,
};
const TENANT_OF = { a1: "tok-a", a2: "tok-a", b: "tok-b", c: "tok-c" } as const;
type Key = keyof typeof KEYS;
const table = async (keys: Key[]) => JSON.stringify(Object.fromEntries(await Promise.all(keys.map(async (k) => [await sha256Hex(KEYS[k]), TENANT_OF[k]]))));
const all = { ...env, API_KEYS: await table(["a1", "a2", "b", "c"]) };

type Env = typeof all;
type Init = { method?: string; body?: unknown; env?: Env };

function send(credential: string, path: string, init: Init = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${credential}` };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  return Promise.resolve(app.request(path, { method: init.method ?? "GET", headers, body }, init.env ?? all));
}
const withKey = (key: Key, path: string, init: Init = {}) => send(KEYS[key], path, init);

async function create(key: Key, id = threadId("tok")): Promise<string> {
  const res = await withKey(key, "/v1/threads", { method: "POST", body: { id } });
  expect(res.status, await res.clone().text()).toBe(201);
  return id;
}

async function mint(key: Key, thread: string, extra: Record<string, unknown> = {}, mintEnv: Env = all): Promise<string> {
  const res = await withKey(key, "/v1/tokens", { method: "POST", body: { thread, ...extra }, env: mintEnv });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorReply["error"]> {
  const body = (await res.json()) as ErrorReply;
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
  return body.error;
}

/** A cheap call to the thread's object (no runtime): its execution history. */
const history = (token: string, thread: string, init: Init = {}) => send(token, `/v1/threads/${thread}/executions`, init);

describe("a token is bound to its thread's incarnation", () => {
  it("reaches nothing once the thread is deleted and created again under the same id; a new token does", async () => {
    const thread = await create("a1");
    const token = await mint("a1", thread);
    expect((await history(token, thread)).status).toBe(200);

    expect((await withKey("a1", `/v1/threads/${thread}`, { method: "DELETE" })).status).toBe(200);
    await create("a1", thread);
    const missing = threadId("never");
    for (const path of ["", "/executions", "/files/a.txt"]) {
      const stale = await expectError(await send(token, `/v1/threads/${thread}${path}`), 404, "THREAD_NOT_FOUND");
      const none = await expectError(await withKey("a1", `/v1/threads/${missing}${path}`), 404, "THREAD_NOT_FOUND");
      expect(stale.message.replace(thread, "T")).toBe(none.message.replace(missing, "T"));
    }
    await expectError(await send(token, `/v1/threads/${thread}/exec`, { method: "POST", body: { command: "echo x" } }), 404, "THREAD_NOT_FOUND");
    expect((await history(await mint("a1", thread), thread)).status).toBe(200);
  });

  it("is minted only for a thread that exists (404 as for any missing thread)", async () => {
    const res = await withKey("a1", "/v1/tokens", { method: "POST", body: { thread: threadId("absent") } });
    await expectError(res, 404, "THREAD_NOT_FOUND");
  });
});

describe("deleting a thread with a token", () => {
  it("is refused (403) unless the token was minted with can_delete", async () => {
    const thread = await create("a1");
    const plain = await mint("a1", thread);
    const err = await expectError(await send(plain, `/v1/threads/${thread}`, { method: "DELETE" }), 403, "FORBIDDEN");
    expect(err.message).toContain("can_delete");
    expect((await withKey("a1", `/v1/threads/${thread}`)).status).toBe(200);

    const other = await create("a1");
    const deleter = await mint("a1", thread, { can_delete: true });
    // Only its own thread, like any token.
    await expectError(await send(deleter, `/v1/threads/${other}`, { method: "DELETE" }), 404, "THREAD_NOT_FOUND");
    expect(await (await send(deleter, `/v1/threads/${thread}`, { method: "DELETE" })).json()).toEqual({ id: thread, deleted: true });
    await expectError(await withKey("a1", `/v1/threads/${thread}`), 404, "THREAD_NOT_FOUND");
    expect((await withKey("a1", `/v1/threads/${other}`)).status).toBe(200);
  });
});

describe("revocation", () => {
  it("of a thread's tokens (API key only) stops them at once; other threads' tokens and new ones work", async () => {
    const [thread, other] = [await create("a1"), await create("a1")];
    const tokens = [await mint("a1", thread), await mint("a2", thread)];
    const bystander = await mint("a1", other);
    await expectError(await send(tokens[0] ?? "", `/v1/threads/${thread}/tokens/revoke`, { method: "POST" }), 403, "FORBIDDEN");

    expect(await (await withKey("a1", `/v1/threads/${thread}/tokens/revoke`, { method: "POST" })).json()).toEqual({ thread, revoked: true });
    for (const token of tokens) {
      const res = await history(token, thread);
      expect(res.headers.get("WWW-Authenticate")).toContain("Bearer");
      expect((await expectError(res, 401, "UNAUTHORIZED")).message).toContain("revoked");
    }
    expect((await history(bystander, other)).status).toBe(200);
    expect((await history(await mint("a1", thread), thread)).status).toBe(200);
  });

  it("of a tenant's tokens (API key only) stops every one of them; another tenant's keep working", async () => {
    const [one, two] = [await create("a1"), await create("a2")];
    const tokens = [await mint("a1", one), await mint("a2", two)];
    const theirs = await create("b");
    const bToken = await mint("b", theirs);
    await expectError(await send(tokens[0] ?? "", "/v1/tokens/revoke", { method: "POST" }), 403, "FORBIDDEN");

    expect(await (await withKey("a1", "/v1/tokens/revoke", { method: "POST" })).json()).toEqual({ revoked: true });
    await expectError(await history(tokens[0] ?? "", one), 401, "UNAUTHORIZED");
    await expectError(await history(tokens[1] ?? "", two), 401, "UNAUTHORIZED");
    expect((await history(bToken, theirs)).status).toBe(200);
    expect((await history(await mint("a2", one), one)).status).toBe(200);
  });

  it("of an API key (removed from API_KEYS) stops the tokens it minted, not those of the tenant's other keys", async () => {
    const thread = await create("a1");
    const [byA1, byA2] = [await mint("a1", thread), await mint("a2", thread)];
    const withoutA1 = { ...all, API_KEYS: await table(["a2", "b", "c"]) };
    const res = await history(byA1, thread, { env: withoutA1 });
    expect((await expectError(res, 401, "UNAUTHORIZED")).message).toContain("API key");
    expect((await history(byA2, thread, { env: withoutA1 })).status).toBe(200);
  });
});

describe("rate limits of thread tokens", () => {
  // Per token: bursts of 3; the tenant's ceiling (RATE_LIMIT_*): bursts of 5. Refills are 20 s and 12 s a request,
  // far beyond what one test takes.
  const limited = { ...all, TOKEN_RATE_LIMIT_PER_MINUTE: "3", TOKEN_RATE_LIMIT_BURST: "3", RATE_LIMIT_PER_MINUTE: "5", RATE_LIMIT_BURST: "5" };

  it("limit each token on its own, so one browser cannot lock out the tenant's others, under the tenant's ceiling", async () => {
    const [one, two] = [await create("c"), await create("c")];
    const [greedy, polite] = [await mint("c", one, {}, limited), await mint("c", two, {}, limited)];
    for (let i = 0; i < 3; i++) expect((await history(greedy, one, { env: limited })).status).toBe(200);
    const own = await history(greedy, one, { env: limited });
    expect(Number(own.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect((await expectError(own, 429, "RATE_LIMITED")).message).toContain("for this token");

    // The other token has its own bucket: two more requests fit under the tenant's ceiling of 5, the third does not.
    for (let i = 0; i < 2; i++) expect((await history(polite, two, { env: limited })).status).toBe(200);
    const ceiling = await history(polite, two, { env: limited });
    expect((await expectError(ceiling, 429, "RATE_LIMITED")).message).toContain("this tenant's tokens");
  });
});
