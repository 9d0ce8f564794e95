import { threadRef } from "../../shared/src/index.ts";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ThreadPlacement } from "../../worker/src/do/placement.ts";
import { ThreadStore } from "../../worker/src/do/store.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { runtimeClient } from "../../worker/src/runtime/client.ts";
import { RuntimeHealth } from "../../worker/src/runtime/health.ts";
import { WORKER_TEST_VARS } from "./bindings.ts";
import { api, fakeRuntime, threadId } from "./thread-api.ts";

// A thread's `network` lives in its Durable Object and goes with every workspace set-up the worker sends, so a
// thread moved to a runtime that never saw it keeps `none`. The stand-in runtime (test/fake-runtime.ts) records the
// set-up bodies; RUNTIME_URL answers, any other host is refused as a runtime that is down.
const LIVE = WORKER_TEST_VARS.RUNTIME_URL;
const DEAD = "http://dead.test";

/** The set-up bodies the stand-in received for this thread, parsed. */
async function setupsOf(id: string): Promise<unknown[]> {
  const all = (await (await fetch(`${LIVE}/_fake/setups`)).json()) as { path: string; body: string }[];
  return all.filter((s) => s.path === `/threads/acme/${id}`).map((s) => JSON.parse(s.body) as unknown);
}

async function create(label: string, network?: "none" | "default"): Promise<string> {
  const id = threadId(label);
  const res = await api("/v1/threads", { method: "POST", body: network ? { id, network } : { id } });
  expect(res.status).toBe(201);
  return id;
}

const rowOf = (id: string) => runInDurableObject(threadStub(env, threadRef("acme", id)), (_, state) => new ThreadStore(state.storage.sql).thread());

describe("a thread's network mode", () => {
  it("is kept in the thread's object and sent with the set-up at creation", async () => {
    const none = await create("net-none", "none");
    expect(await setupsOf(none)).toEqual([{ network: "none", import_policy: null }]);
    expect(await rowOf(none)).toMatchObject({ network: "none" });

    const plain = await create("net-default");
    expect(await setupsOf(plain)).toEqual([{ network: "default", import_policy: null }]);
    expect(await rowOf(plain)).toMatchObject({ network: "default" });
  });

  it("is sent to the runtime a `none` thread moves to, before the thread is placed there", async () => {
    const id = await create("net-move", "none");
    await runInDurableObject(threadStub(env, threadRef("acme", id)), async (_, state) => {
      state.storage.sql.exec("UPDATE thread SET runtime_url = ?", DEAD);
      const store = new ThreadStore(state.storage.sql);
      const placement = new ThreadPlacement(store, runtimeClient(env), [DEAD, LIVE], new RuntimeHealth());
      expect((await placement.route(false)).url).toBe(LIVE);
      expect(store.thread()).toMatchObject({ runtime_url: LIVE, network: "none" });
    });
    expect(await setupsOf(id)).toEqual([{ network: "none", import_policy: null }, { network: "none", import_policy: null }]);
  });

  it("is not moved when the set-up on the new runtime fails", async () => {
    const id = await create("net-refused", "none");
    // The runtime answers its health probe, but every call for this thread has its connection dropped.
    await fakeRuntime.outage("acme", id, true);
    try {
      await runInDurableObject(threadStub(env, threadRef("acme", id)), async (_, state) => {
        state.storage.sql.exec("UPDATE thread SET runtime_url = ?", DEAD);
        const store = new ThreadStore(state.storage.sql);
        const placement = new ThreadPlacement(store, runtimeClient(env), [DEAD, LIVE], new RuntimeHealth());
        await expect(placement.route(false)).rejects.toMatchObject({ code: "RUNTIME_UNAVAILABLE" });
        expect(store.thread()?.runtime_url).toBe(DEAD);
      });
    } finally {
      await fakeRuntime.outage("acme", id, false);
    }
  });

  it("reads as `default` for a thread stored before the column existed", async () => {
    const id = await create("net-old");
    await runInDurableObject(threadStub(env, threadRef("acme", id)), (_, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE thread");
      sql.exec(
        "CREATE TABLE thread (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created_at TEXT NOT NULL, " +
          "last_active_at TEXT NOT NULL, runtime_url TEXT NOT NULL)",
      );
      sql.exec("INSERT INTO thread VALUES (?, 'acme', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', ?)", id, LIVE);
      expect(new ThreadStore(sql).thread()).toMatchObject({ id, network: "default", placed_at: "2026-01-01T00:00:00.000Z" });
    });
  });
});
