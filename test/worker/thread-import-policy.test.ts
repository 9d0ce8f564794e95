import { type ThreadState, threadRef } from "../../shared/src/index.ts";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { tenantImportPolicy, workerConfig } from "../../worker/src/config.ts";
import { ThreadPlacement } from "../../worker/src/do/placement.ts";
import { ThreadStore } from "../../worker/src/do/store.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { runtimeClient } from "../../worker/src/runtime/client.ts";
import { RuntimeHealth } from "../../worker/src/runtime/health.ts";
import { WORKER_TEST_VARS } from "./bindings.ts";
import type { ErrorReply } from "./test-app.ts";
import { api, threadId } from "./thread-api.ts";

// A thread's import policy lives in its Durable Object (like `network`), goes with every workspace set-up the worker
// sends (the stand-in runtime, test/fake-runtime.ts, records them) and shows in the thread's state.
const LIVE = WORKER_TEST_VARS.RUNTIME_URL;
const DEAD = "http://dead.test";

async function setupsOf(id: string): Promise<unknown[]> {
  const all = (await (await fetch(`${LIVE}/_fake/setups`)).json()) as { path: string; body: string }[];
  return all.filter((s) => s.path === `/threads/acme/${id}`).map((s) => JSON.parse(s.body) as unknown);
}

const rowOf = (id: string) => runInDurableObject(threadStub(env, threadRef("acme", id)), (_, state) => new ThreadStore(state.storage.sql).thread());

describe("a thread's import policy", () => {
  it("is kept in the thread's object, sent with the set-up and shown in the thread's state", async () => {
    const id = threadId("policy");
    const import_policy = { allow: ["numpy", "pandas"], deny: ["numpy.testing"] };
    const res = await api("/v1/threads", { method: "POST", body: { id, import_policy } });
    expect(res.status).toBe(201);
    expect(((await res.json()) as ThreadState).import_policy).toEqual(import_policy);
    expect(await rowOf(id)).toMatchObject({ import_policy });
    expect(await setupsOf(id)).toEqual([{ network: "default", import_policy }]);
    const info = (await (await api(`/v1/threads/${id}`)).json()) as ThreadState;
    expect(info.import_policy).toEqual(import_policy);
  });

  it("is absent from a thread created without one, and the runtime is told so", async () => {
    const id = threadId("no-policy");
    expect((await api("/v1/threads", { method: "POST", body: { id } })).status).toBe(201);
    expect(await rowOf(id)).toMatchObject({ import_policy: null });
    expect(await setupsOf(id)).toEqual([{ network: "default", import_policy: null }]);
    expect((await (await api(`/v1/threads/${id}`)).json()) as ThreadState).not.toHaveProperty("import_policy");
  });

  it("is sent to a runtime the thread moves to, before it is placed there", async () => {
    const id = threadId("policy-move");
    const import_policy = { deny: ["socket"] };
    expect((await api("/v1/threads", { method: "POST", body: { id, import_policy } })).status).toBe(201);
    await runInDurableObject(threadStub(env, threadRef("acme", id)), async (_, state) => {
      state.storage.sql.exec("UPDATE thread SET runtime_url = ?", DEAD);
      const store = new ThreadStore(state.storage.sql);
      const placement = new ThreadPlacement(store, runtimeClient(env), [DEAD, LIVE], new RuntimeHealth());
      expect((await placement.route(false)).url).toBe(LIVE);
    });
    expect(await setupsOf(id)).toEqual([{ network: "default", import_policy }, { network: "default", import_policy }]);
  });

  it.each([
    [{ deny: ["os path"] }, "import_policy.deny.0"],
    [{ allow: ["numpy", "-rf"] }, "import_policy.allow.1"],
    [{ allow: "numpy" }, "import_policy.allow"],
    [{ block: ["os"] }, "import_policy"],
  ])("refuses %j with 400 VALIDATION_FAILED naming %s", async (import_policy, field) => {
    const id = threadId("bad-policy");
    const res = await api("/v1/threads", { method: "POST", body: { id, import_policy } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorReply;
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.message).toContain(field);
    expect(await rowOf(id)).toBeNull();
  });
});

describe("IMPORT_POLICY (the deployment's, per tenant)", () => {
  const configOf = (IMPORT_POLICY: string) => workerConfig({ ...env, IMPORT_POLICY } as Env);

  it("gives a tenant its own policy, every other tenant the default, none when empty", () => {
    const policies = configOf(JSON.stringify({ default: { deny: ["requests"] }, tenants: { acme: { allow: ["numpy"] } } })).importPolicies;
    expect(tenantImportPolicy(policies, "acme")).toEqual({ allow: ["numpy"] });
    expect(tenantImportPolicy(policies, "beta")).toEqual({ deny: ["requests"] });
    expect(tenantImportPolicy(configOf("").importPolicies, "acme")).toBeUndefined();
  });

  it.each([
    ["not JSON", "{deny: os}", /IMPORT_POLICY: is not JSON/],
    ["a bad module name", '{"default": {"deny": ["os path"]}}', /IMPORT_POLICY: default\.deny\.0: must be a Python module name/],
    ["an unknown key", '{"defaults": {}}', /IMPORT_POLICY: : Unrecognized key/],
  ])("refuses %s with a message naming it", (_, raw, message) => {
    expect(() => configOf(raw)).toThrow(message);
  });
});
