import { NetworkPolicySchema, openSecrets, threadRef } from "../../shared/src/index.ts";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ThreadStore } from "../../worker/src/do/store.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { WORKER_TEST_BINDINGS, WORKER_TEST_VARS } from "./bindings.ts";
import { api, threadId } from "./thread-api.ts";

// Issue 20: `network: {allow, deny, secrets}`. The policy lives in the thread's object with its secrets sealed
// (AES-GCM, key derived from HMAC_SECRET, the thread as additional data); the API shows hosts and headers only; the
// sealed form goes to the runtime in a header of the thread's calls (the stand-in records it with each set-up).
const LIVE = WORKER_TEST_VARS.RUNTIME_URL;
const SECRET = "sk-live-0123456789abcdef-not-to-be-seen";
const POLICY = {
  allow: ["pypi.org", "*.githubusercontent.com", "10.0.0.0/8", "api.example.com"],
  deny: ["evil.githubusercontent.com"],
  secrets: [{ host: "api.example.com", header: "Authorization", value: `Bearer ${SECRET}` }],
};
const VIEW = { ...POLICY, secrets: [{ host: "api.example.com", header: "Authorization" }] };

async function setupsOf(id: string): Promise<{ body: string; sealed?: string }[]> {
  const all = (await (await fetch(`${LIVE}/_fake/setups`)).json()) as { path: string; body: string; sealed?: string }[];
  return all.filter((s) => s.path === `/threads/acme/${id}`);
}

const rawRow = (id: string) =>
  runInDurableObject(threadStub(env, threadRef("acme", id)), (_, state) => state.storage.sql.exec("SELECT * FROM thread").toArray()[0] as Record<string, unknown>);

describe("a thread's egress policy", () => {
  it("is shown with its secrets' hosts and headers, never their values", async () => {
    const id = threadId("egress-view");
    const res = await api("/v1/threads", { method: "POST", body: { id, network: POLICY } });
    const created = await res.text();
    expect(res.status, created).toBe(201);
    expect(JSON.parse(created)).toMatchObject({ network: VIEW });
    expect(created).not.toContain(SECRET);
    const got = await (await api(`/v1/threads/${id}`)).text();
    expect(JSON.parse(got)).toMatchObject({ network: VIEW });
    expect(got).not.toContain(SECRET);
  });

  it("is stored with its secrets sealed for this thread only, and sent to the runtime sealed", async () => {
    const id = threadId("egress-rest");
    expect((await api("/v1/threads", { method: "POST", body: { id, network: POLICY } })).status).toBe(201);
    const row = await rawRow(id);
    expect(JSON.stringify(row)).not.toContain(SECRET);
    expect(JSON.parse(row.network as string)).toEqual(VIEW);
    const sealed = row.egress_secrets as string;
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(await openSecrets(WORKER_TEST_BINDINGS.HMAC_SECRET, `acme/${id}`, sealed)).toEqual(POLICY.secrets);
    expect(await openSecrets(WORKER_TEST_BINDINGS.HMAC_SECRET, `acme/${id}-other`, sealed)).toBeNull();
    expect(await openSecrets("another-secret-of-16-chars", `acme/${id}`, sealed)).toBeNull();
    const [setup] = await setupsOf(id);
    expect(JSON.parse(setup?.body ?? "")).toEqual({ network: VIEW, import_policy: null });
    expect(setup?.body).not.toContain(SECRET);
    expect(setup?.sealed).toBe(sealed);
    const store = await runInDurableObject(threadStub(env, threadRef("acme", id)), (_, state) => new ThreadStore(state.storage.sql).thread());
    expect(store).toMatchObject({ network: VIEW, egress_secrets: sealed });
  });

  it("sends no secrets header for a thread without secrets", async () => {
    const id = threadId("egress-nosecrets");
    expect((await api("/v1/threads", { method: "POST", body: { id, network: { allow: ["pypi.org"] } } })).status).toBe(201);
    const [setup] = await setupsOf(id);
    expect(setup?.sealed).toBeUndefined();
    expect((await rawRow(id)).egress_secrets).toBeNull();
  });

  it.each([
    ["an empty allow list", { allow: [] }],
    ["a URL for a host", { allow: ["https://pypi.org"] }],
    ["a bare wildcard", { allow: ["*"] }],
    ["a wildcard secret host", { allow: ["*.x.com"], secrets: [{ host: "*.x.com", header: "a", value: "b" }] }],
    ["a Host header", { allow: ["x.com"], secrets: [{ host: "x.com", header: "Host", value: "y.com" }] }],
    ["a Proxy- header", { allow: ["x.com"], secrets: [{ host: "x.com", header: "Proxy-Authorization", value: "b" }] }],
    ["a value with a line break", { allow: ["x.com"], secrets: [{ host: "x.com", header: "a", value: "b\r\nX-Evil: 1" }] }],
    ["an unknown key", { allow: ["x.com"], proxy: "elsewhere" }],
  ])("refuses %s with VALIDATION_FAILED", async (_, network) => {
    const res = await api("/v1/threads", { method: "POST", body: { id: threadId("egress-bad"), network } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_FAILED");
  });

  it("never echoes a refused secret's value in the error", async () => {
    const network = { allow: ["x.com"], secrets: [{ host: "x.com", header: "Authorization", value: `${SECRET}\n` }] };
    const res = await api("/v1/threads", { method: "POST", body: { id: threadId("egress-echo"), network } });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).toContain("network");
    expect(text).not.toContain(SECRET);
  });

  it("bounds the secrets together (they travel in one header) and one per host and header", () => {
    const big = ["a", "b"].map((h) => ({ host: "x.com", header: h, value: "v".repeat(3500) }));
    expect(NetworkPolicySchema.safeParse({ allow: ["x.com"], secrets: big }).success).toBe(false);
    const twice = ["A", "a"].map((h) => ({ host: "x.com", header: h, value: "v" }));
    expect(NetworkPolicySchema.safeParse({ allow: ["x.com"], secrets: twice }).success).toBe(false);
    expect(NetworkPolicySchema.safeParse({ allow: ["x.com"], secrets: big.slice(0, 1) }).success).toBe(true);
  });
});
