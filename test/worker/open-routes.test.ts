import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/src/app.ts";
import { FleetHealthView, HEALTH_MAX_AGE_MS, HEALTH_MIN_GAP_MS, type RuntimeProbe } from "../../worker/src/runtime/fleet-health.ts";
import { RuntimeHealth } from "../../worker/src/runtime/health.ts";
import type { ErrorReply } from "./test-app.ts";

// The routes anyone may call: /v1/health answers from a view the isolate refreshes at a bounded rate (so asking does
// not cost a signed call to every runtime), and every open route is rate limited per client address.

describe("the health view", () => {
  const URLS = ["http://rt-0.test", "http://rt-1.test"];

  function setup() {
    let now = 1_000_000;
    const health = new RuntimeHealth(() => now);
    const view = new FleetHealthView(health, () => now);
    const probed: string[] = [];
    let release: () => void = () => undefined;
    let gate: Promise<void> = Promise.resolve();
    const probe = async (url: string): Promise<RuntimeProbe> => {
      probed.push(url);
      await gate;
      return { reachable: true, degraded: false };
    };
    const hold = () => (gate = new Promise((r) => (release = r)));
    return { view, health, probed, probe, hold, release: () => release(), advance: (ms: number) => (now += ms) };
  }

  it("probes each runtime once for any number of requests within its age, concurrent ones sharing the refresh", async () => {
    const t = setup();
    t.hold();
    const concurrent = Array.from({ length: 500 }, () => t.view.probes(URLS, t.probe));
    t.release();
    await Promise.all(concurrent);
    for (let i = 0; i < 500; i++) await t.view.probes(URLS, t.probe);
    expect(t.probed).toEqual(URLS);

    t.advance(HEALTH_MAX_AGE_MS - 1);
    await t.view.probes(URLS, t.probe);
    expect(t.probed).toHaveLength(2);
    t.advance(1);
    await t.view.probes(URLS, t.probe);
    expect(t.probed).toHaveLength(4);
  });

  it("refreshes sooner when the isolate's calls saw a runtime change, but never within the minimum gap", async () => {
    const t = setup();
    await t.view.probes(URLS, t.probe);
    t.health.suspect("http://rt-0.test");
    for (let i = 0; i < 100; i++) await t.view.probes(URLS, t.probe);
    expect(t.probed).toHaveLength(2);
    t.advance(HEALTH_MIN_GAP_MS);
    await t.view.probes(URLS, t.probe);
    expect(t.probed).toHaveLength(4);
    // Nothing new: the view stays until its age.
    t.advance(HEALTH_MIN_GAP_MS);
    await t.view.probes(URLS, t.probe);
    expect(t.probed).toHaveLength(4);
  });

  it("answers for the configuration asked about", async () => {
    const t = setup();
    await t.view.probes(URLS, t.probe);
    expect(await t.view.probes(["http://rt-9.test"], t.probe)).toHaveLength(1);
    expect(t.probed).toEqual([...URLS, "http://rt-9.test"]);
  });
});

describe("open routes are rate limited per client address", () => {
  // An env of this file's own (workerConfig parses each env object once): bursts of 3, then one every 20 s, so no
  // refill lands inside a test. The other worker tests send open requests from addresses of their own.
  const strict = { ...env, OPEN_RATE_LIMIT_PER_MINUTE: "3", OPEN_RATE_LIMIT_BURST: "3" };
  const get = (path: string, address?: string) =>
    Promise.resolve(app.request(path, { headers: address ? { "CF-Connecting-IP": address } : {} }, strict));

  it("answers 429 with Retry-After once an address has spent its burst, on health and the OpenAPI document alike", async () => {
    const address = "192.0.2.1";
    expect((await get("/v1/health", address)).status).toBe(200);
    expect((await get("/openapi.json", address)).status).toBe(200);
    expect((await get("/v1/health", address)).status).toBe(200);
    for (const path of ["/v1/health", "/openapi.json"]) {
      const res = await get(path, address);
      const body = (await res.json()) as ErrorReply;
      expect({ status: res.status, code: body.error.code }).toEqual({ status: 429, code: "RATE_LIMITED" });
      expect(Number(res.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    }
    // Another address has its own bucket.
    expect((await get("/v1/health", "2001:db8::1")).status).toBe(200);
  });

  it("puts every request without CF-Connecting-IP (local ones) in one bucket", async () => {
    for (let i = 0; i < 3; i++) expect((await get("/openapi.json")).status).toBe(200);
    expect((await get("/v1/health")).status).toBe(429);
    expect((await get("/v1/health", "198.51.100.7")).status).toBe(200);
  });
});
