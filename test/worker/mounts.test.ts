import { type ThreadState, threadRef } from "../../shared/src/index.ts";
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { workerConfig } from "../../worker/src/config.ts";
import { threadMounts } from "../../worker/src/default-mounts.ts";
import { ThreadStore } from "../../worker/src/do/store.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { callAnyRuntime } from "../../worker/src/runtime/any-runtime.ts";
import { runtimeClient } from "../../worker/src/runtime/client.ts";
import { RuntimeHealth } from "../../worker/src/runtime/health.ts";
import { rankRuntimes } from "../../worker/src/runtime/rendezvous.ts";
import { WORKER_TEST_VARS } from "./bindings.ts";
import { api, expectError, fakeRuntime, threadId } from "./thread-api.ts";

// Tenants' read-only mounts through the whole worker: API keys only (a thread token is refused before anything
// reaches a runtime), each call signed to a runtime as thread-less, a thread's mounts checked, kept and sent with
// its set-up (the stand-in runtime, test/fake-runtime.ts, keeps mounts in memory: test/fake-mounts.ts).
const LIVE = WORKER_TEST_VARS.RUNTIME_URL;

const put = (name: string, rel: string, data: string, tenant: "acme" | "beta" = "acme") =>
  api(`/v1/mounts/${name}/files/${rel}`, { method: "PUT", body: data, tenant });

async function setupsOf(id: string): Promise<unknown[]> {
  const all = (await (await fetch(`${LIVE}/_fake/setups`)).json()) as { path: string; body: string }[];
  return all.filter((s) => s.path === `/threads/acme/${id}`).map((s) => JSON.parse(s.body) as unknown);
}

const bearer = (token: string, path: string, method = "GET", body?: string) =>
  exports.default.fetch(`http://threadbox.test${path}`, { method, headers: { authorization: `Bearer ${token}` }, body });

describe("/v1/mounts", () => {
  it("puts, lists and deletes a tenant's files on a runtime, under the tenant's own name", async () => {
    const name = `m${crypto.randomUUID().slice(0, 8)}`;
    expect((await put(name, "dir/a b.txt", "hello")).status).toBe(201);
    expect(await fakeRuntime.calls(`/mounts/acme/${name}/files/dir/a%20b.txt`)).toEqual([`PUT /mounts/acme/${name}/files/dir/a%20b.txt`]);
    const list = (await (await api("/v1/mounts")).json()) as { mounts: { name: string }[] };
    expect(list.mounts).toContainEqual({ name, files: 1, bytes: 5 });
    expect(((await (await api("/v1/mounts", { tenant: "beta" })).json()) as { mounts: { name: string }[] }).mounts.map((m) => m.name)).not.toContain(name);
    await expectError(await api(`/v1/mounts/${name}/files`, { tenant: "beta" }), 404, "MOUNT_NOT_FOUND");
    expect((await api(`/v1/mounts/${name}/files/dir/a%20b.txt`, { method: "DELETE" })).status).toBe(200);
    expect((await api(`/v1/mounts/${name}`, { method: "DELETE" })).status).toBe(200);
    await expectError(await api(`/v1/mounts/${name}/files`), 404, "MOUNT_NOT_FOUND");
  });

  it("refuses bad names and paths at the edge", async () => {
    await expectError(await put("Bad!", "a", "x"), 400, "VALIDATION_FAILED");
    await expectError(await put("ok", "a%2F..%2F..%2Fb", "x"), 400, "INVALID_PATH");
    await expectError(await api("/v1/mounts/ok/files/", { method: "DELETE" }), 400, "INVALID_PATH");
    expect(await fakeRuntime.calls("/mounts/acme/ok")).toEqual([]);
  });

  it("refuses a thread token on every mounts route with 403 FORBIDDEN, before any runtime call", async () => {
    const id = threadId("mount-token");
    expect((await api("/v1/threads", { method: "POST", body: { id } })).status).toBe(201);
    const { token } = (await (await api("/v1/tokens", { method: "POST", body: { thread: id } })).json()) as { token: string };
    const before = (await fakeRuntime.calls("/mounts/")).length;
    for (const [method, path] of [["GET", "/v1/mounts"], ["GET", "/v1/mounts/x/files"], ["PUT", "/v1/mounts/x/files/a"], ["DELETE", "/v1/mounts/x/files/a"], ["DELETE", "/v1/mounts/x"]] as const) {
      await expectError(await bearer(token, path, method, method === "PUT" ? "data" : undefined), 403, "FORBIDDEN");
    }
    expect((await fakeRuntime.calls("/mounts/")).length).toBe(before);
  });
});

describe("thread-less calls (callAnyRuntime)", () => {
  it("reach a runtime that answers whichever one the rendezvous ranks first, and mark the dead one down", async () => {
    const DEAD = "http://dead.test";
    const health = new RuntimeHealth();
    // Keys for which the dead runtime ranks first: the call must go there, fail, and be sent again to the live one.
    const keys = Array.from({ length: 64 }, (_, i) => `mounts/t${i}`).filter((k) => rankRuntimes([DEAD, LIVE], k)[0] === DEAD);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys.slice(0, 2)) {
      const res = await callAnyRuntime(runtimeClient(env), [DEAD, LIVE], key, { method: "GET", path: "/mounts/acme" }, true, health);
      expect(res.status).toBe(200);
      expect(await res.json()).toHaveProperty("mounts");
    }
    expect(health.status(DEAD).state).toBe("down");
    expect(health.status(LIVE).state).toBe("up");
  });
});

describe("a thread's mounts", () => {
  const rowOf = (id: string) => runInDurableObject(threadStub(env, threadRef("acme", id)), (_, state) => new ThreadStore(state.storage.sql).thread());

  it("are checked, kept in the thread's object, sent with its set-up and shown in its state", async () => {
    expect((await put("skills", "SKILL.md", "# s")).status).toBe(201);
    const id = threadId("mounted");
    const res = await api("/v1/threads", { method: "POST", body: { id, mounts: [{ name: "skills" }, { name: "skills", path: "/mnt/s" }] } });
    expect(res.status).toBe(201);
    const mounts = [{ name: "skills", path: "/.skills/skills" }, { name: "skills", path: "/mnt/s" }];
    expect(((await res.json()) as ThreadState).mounts).toEqual(mounts);
    expect(await rowOf(id)).toMatchObject({ mounts });
    expect(await setupsOf(id)).toEqual([{ network: "default", import_policy: null, mounts }]);
    expect(((await (await api(`/v1/threads/${id}`)).json()) as ThreadState).mounts).toEqual(mounts);
  });

  it("refuse a mount the tenant never defined (404) and a bad path (400); no thread is made", async () => {
    const id = threadId("unmounted");
    await expectError(await api("/v1/threads", { method: "POST", body: { id, mounts: [{ name: "never-defined" }] } }), 404, "MOUNT_NOT_FOUND");
    for (const path of ["/workspace/x", "/etc/x", "/.skills/../x", "/.skills/a/b", "x"]) {
      await expectError(await api("/v1/threads", { method: "POST", body: { id, mounts: [{ name: "skills", path }] } }), 400, "VALIDATION_FAILED");
    }
    expect(await rowOf(id)).toBeNull();
    // Another tenant's mount is not a name this tenant can use.
    expect((await put("only-beta", "a", "x", "beta")).status).toBe(201);
    await expectError(await api("/v1/threads", { method: "POST", body: { id, mounts: [{ name: "only-beta" }] } }), 404, "MOUNT_NOT_FOUND");
  });
});

describe("DEFAULT_MOUNTS", () => {
  const configOf = (DEFAULT_MOUNTS: string) => workerConfig({ ...env, DEFAULT_MOUNTS } as Env);

  it("gives a tenant its own defaults, others the default, after the thread's own paths", () => {
    const { defaultMounts } = configOf(JSON.stringify({ default: [{ name: "rules", path: "/.mounts/rules" }], tenants: { acme: [{ name: "skills" }] } }));
    expect(threadMounts(defaultMounts, "acme")).toEqual([{ name: "skills", path: "/.skills/skills" }]);
    expect(threadMounts(defaultMounts, "beta", [{ name: "x", path: "/.mounts/rules" }])).toEqual([{ name: "x", path: "/.mounts/rules" }]);
    expect(threadMounts(defaultMounts, "beta")).toEqual([{ name: "rules", path: "/.mounts/rules" }]);
    expect(threadMounts(configOf("").defaultMounts, "acme")).toEqual([]);
  });

  it("refuses a bad value with the configuration error", () => {
    expect(() => configOf("{")).toThrow(/DEFAULT_MOUNTS: is not JSON/);
    expect(() => configOf(JSON.stringify({ default: [{ name: "a", path: "/usr/a" }] }))).toThrow(/DEFAULT_MOUNTS/);
  });
});
