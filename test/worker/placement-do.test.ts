import { threadRef } from "../../shared/src/index.ts";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ThreadState } from "../../shared/src/index.ts";
import { ThreadPlacement } from "../../worker/src/do/placement.ts";
import { ThreadStore } from "../../worker/src/do/store.ts";
import { threadStub } from "../../worker/src/http/thread-stub.ts";
import { runtimeClient } from "../../worker/src/runtime/client.ts";
import { RuntimeHealth } from "../../worker/src/runtime/health.ts";
import { WORKER_TEST_VARS } from "./bindings.ts";
import { api, createThread, exec } from "./thread-api.ts";

// Placement inside the thread's Durable Object, with real signed probes: the stand-in runtime (test/fake-runtime.ts)
// answers at RUNTIME_URL and refuses every other host with 502 RUNTIME_UNAVAILABLE, as a runtime that is down does.
const LIVE = WORKER_TEST_VARS.RUNTIME_URL;
const DEAD = "http://dead.test";

const stateOf = async (id: string) => (await (await api(`/v1/threads/${id}`)).json()) as ThreadState;

/** Points the thread's record at another runtime, as if it had been placed there. */
const placeOn = (id: string, url: string, at: string) =>
  runInDurableObject(threadStub(env, threadRef("acme", id)), (_, state) => {
    state.storage.sql.exec("UPDATE thread SET runtime_url = ?, placed_at = ?", url, at);
  });

describe("a thread's placement", () => {
  it("is recorded at creation and shown by position, never by address", async () => {
    const id = await createThread("placed");
    const state = await stateOf(id);
    expect(state.runtime).toEqual({ index: 0, placed_at: state.created_at });
    expect(JSON.stringify(state)).not.toContain(LIVE);
  });

  it("moves off a runtime that does not answer, once, to one that does; then stays", async () => {
    const id = await createThread("move");
    await placeOn(id, DEAD, "2026-01-01T00:00:00.000Z");
    await runInDurableObject(threadStub(env, threadRef("acme", id)), async (_, state) => {
      const store = new ThreadStore(state.storage.sql);
      const health = new RuntimeHealth();
      const placement = new ThreadPlacement(store, runtimeClient(env), [DEAD, LIVE], health);
      const first = await placement.route(false);
      expect(first.url).toBe(LIVE);
      expect(health.status(DEAD).state).toBe("down");
      const placedAt = store.thread()?.placed_at;
      expect(store.thread()).toMatchObject({ runtime_url: LIVE, placed_at: first.thread.placed_at });
      expect(Date.parse(placedAt ?? "")).toBeGreaterThan(Date.parse("2026-01-01T00:00:00.000Z"));

      expect((await placement.route(true)).url).toBe(LIVE);
      expect(store.thread()?.placed_at).toBe(placedAt);
    });
  });

  it("answers RUNTIME_UNAVAILABLE when no runtime answers, and leaves the thread where it was", async () => {
    const id = await createThread("nowhere");
    await placeOn(id, DEAD, "2026-01-01T00:00:00.000Z");
    await runInDurableObject(threadStub(env, threadRef("acme", id)), async (_, state) => {
      const store = new ThreadStore(state.storage.sql);
      const placement = new ThreadPlacement(store, runtimeClient(env), [DEAD, "http://dead-too.test"], new RuntimeHealth());
      await expect(placement.route(false)).rejects.toMatchObject({ code: "RUNTIME_UNAVAILABLE" });
      expect(store.thread()?.runtime_url).toBe(DEAD);
    });
  });

  it("moves a thread whose runtime left RUNTIME_URL on its next call, through the public API", async () => {
    const id = await createThread("retired");
    await placeOn(id, "http://retired.test", "2026-01-01T00:00:00.000Z");
    expect((await exec(id, "echo moved")).status).toBe(200);
    const state = await stateOf(id);
    expect(state.runtime.index).toBe(0);
    expect(state.runtime.placed_at).not.toBe("2026-01-01T00:00:00.000Z");
  });

  it("dates the placement of a thread recorded before placement was tracked from its creation", async () => {
    const id = await createThread("legacy");
    await runInDurableObject(threadStub(env, threadRef("acme", id)), (_, state) => {
      const sql = state.storage.sql;
      const row = sql.exec("SELECT id, tenant, created_at, last_active_at, runtime_url FROM thread").one();
      sql.exec("DROP TABLE thread");
      sql.exec("CREATE TABLE thread (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created_at TEXT NOT NULL, last_active_at TEXT NOT NULL, runtime_url TEXT NOT NULL)");
      sql.exec("INSERT INTO thread VALUES (?, ?, ?, ?, ?)", row.id, row.tenant, row.created_at, row.last_active_at, row.runtime_url);
      const store = new ThreadStore(sql);
      expect(store.thread()).toMatchObject({ runtime_url: LIVE, placed_at: row.created_at });
    });
  });
});
