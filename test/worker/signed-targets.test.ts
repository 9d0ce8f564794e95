import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runtimePaths, threadRef } from "../../shared/src/index.ts";
import { ThreadPlacement } from "../../worker/src/do/placement.ts";
import { ThreadStore } from "../../worker/src/do/store.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { runtimeClient } from "../../worker/src/runtime/client.ts";
import { RuntimeHealth } from "../../worker/src/runtime/health.ts";
import { WORKER_TEST_VARS } from "./bindings.ts";
import { api, createThread, expectError, fakeRuntime } from "./thread-api.ts";

// What the worker signs is what workerd's fetch sends: the stand-in runtime (test/fake-runtime.ts) verifies the
// signature over the request target exactly as it arrived, and answers file calls with the path and query it
// received. A refused signature is the deployment's bug, reported as such, never a runtime outage.

const LIVE = WORKER_TEST_VARS.RUNTIME_URL;
/** Every printable ASCII character but `/`, a space, non-ASCII text, and things that look like escapes. */
const ODD = [..."!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~ "].concat(["é", "日本", "😀", "%", "%25", "%2F", "a%zz", "\u007f"]);
/** The one character the workspace path rules refuse in a name (api-security.test.ts covers it). */
const usable = (ch: string) => ch !== "\\";

const filesUrl = (thread: string, name: string) => `/v1/threads/${thread}/files/dir%20x/${encodeURIComponent(name)}`;

describe("signed request targets", () => {
  it("reaches the runtime, signature intact, for every odd character in a file path", async () => {
    const thread = await createThread("odd-path");
    for (const ch of ODD.filter(usable)) {
      const name = `a${ch}b`;
      const put = await api(filesUrl(thread, name), { method: "PUT", body: "x" });
      expect(put.status, `PUT ${name}: ${await put.clone().text()}`).toBe(201);
      expect(await put.json()).toMatchObject({ path: `dir x/${name}` });
      const get = await api(filesUrl(thread, name));
      expect(get.status, `GET ${name}`).toBe(200);
      expect(await get.json()).toMatchObject({ path: `dir x/${name}` });
    }
  });

  it("reaches the runtime for every odd character in a query: DELETE ?recursive=' is a delete, not a 503", async () => {
    const thread = await createThread("odd-query");
    for (const ch of ODD) {
      const del = await api(`/v1/threads/${thread}/files/x?recursive=${encodeURIComponent(ch)}`, { method: "DELETE" });
      expect(del.status, `DELETE ?recursive=${ch}: ${await del.clone().text()}`).toBe(200);
      expect(await del.json()).toEqual({ deleted: "x", query: { recursive: ch } });
    }
    // The one reported: the quote sent raw, as a client may.
    const raw = await api(`/v1/threads/${thread}/files/x?recursive='`, { method: "DELETE" });
    expect(raw.status).toBe(200);
    for (const ch of ODD.filter(usable)) {
      const list = await api(`/v1/threads/${thread}/files?path=${encodeURIComponent(`d${ch}`)}&recursive=${encodeURIComponent(ch)}`);
      expect(list.status, `list ${ch}: ${await list.clone().text()}`).toBe(200);
      expect(await list.json()).toMatchObject({ query: { path: `d${ch}`, recursive: ch } });
    }
  });
});

describe("a refused signature", () => {
  it("is a 500 INTERNAL_ERROR that says what went wrong, not RUNTIME_UNAVAILABLE", async () => {
    const thread = await createThread("refused");
    await fakeRuntime.refuse("acme", thread, true);
    try {
      const { error } = await expectError(await api(`/v1/threads/${thread}/files/a.txt`), 500, "INTERNAL_ERROR");
      expect(error.message).toMatch(/refused the worker's signature for GET \/threads\/acme\/.*\/files\/a\.txt.*HMAC_SECRET/);
      await expectError(await api(`/v1/threads/${thread}/files/a.txt`, { method: "DELETE" }), 500, "INTERNAL_ERROR");
    } finally {
      await fakeRuntime.refuse("acme", thread, false);
    }
    expect((await api(`/v1/threads/${thread}/files/a.txt`)).status).toBe(200);
  });

  it("neither marks the runtime suspect nor sends the call again elsewhere", async () => {
    const thread = await createThread("refused-health");
    await fakeRuntime.refuse("acme", thread, true);
    try {
      await runInDurableObject(threadStub(env, threadRef("acme", thread)), async (_, state) => {
        const store = new ThreadStore(state.storage.sql);
        const health = new RuntimeHealth();
        health.up(LIVE);
        const placement = new ThreadPlacement(store, runtimeClient(env), [LIVE], health);
        // A read: on a runtime failure it would be sent again, after probing a suspect runtime.
        const read = { method: "GET", path: runtimePaths.files(threadRef("acme", thread), "a.txt") };
        await expect(placement.call(read, true)).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
        expect(health.status(LIVE).state).toBe("up");
        expect(store.thread()?.runtime_url).toBe(LIVE);
      });
    } finally {
      await fakeRuntime.refuse("acme", thread, false);
    }
  });
});
