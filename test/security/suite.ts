import { afterAll, beforeAll, describe, it } from "vitest";
import { type HostileCase, limiter, runHostile } from "./hostile.ts";
import type { Backend, Target } from "./target.ts";

/**
 * Declares one test per applicable table row, named "<id>: <program>" so the run reads like SECURITY.md.
 * `concurrency` above 1 runs the rows side by side (at most that many at once); exhausting rows use 1.
 */
export function hostileTests(
  name: string,
  backend: Backend,
  cases: HostileCase[],
  target: () => Target,
  opts: { concurrency?: number } = {},
): void {
  const concurrency = opts.concurrency ?? 1;
  const slot = limiter(concurrency);
  const block = concurrency > 1 ? describe.concurrent : describe;
  block(name, () => {
    for (const c of cases.filter((x) => !x.backends || x.backends.includes(backend))) {
      const title = `${c.id}: ${c.title}`;
      if (c.skip) {
        // The case says why it cannot run here (e.g. X16 needs root to make a setuid-root binary); the reason is
        // part of the test's name, so the report shows it.
        it.skip(`${title} (${c.skip})`, () => undefined);
        continue;
      }
      // Waiting for a slot counts against the test's time: allow for the rows queued ahead of it.
      it(title, { timeout: Math.min(900_000, 120_000 * Math.ceil(cases.length / concurrency)) }, ({ expect }) =>
        slot(() => runHostile(target(), c, expect)),
      );
    }
  });
}

/** The start-up self-test found every required layer: a degraded runtime would make the rest meaningless. */
export function layersTest(target: () => Target): void {
  it("runs with every required isolation layer (health is not degraded)", async ({ expect }) => {
    const health = await target().rt.json<{ degraded?: boolean; missing_layers?: string[] }>("GET", "/health");
    expect(health.degraded ?? false, JSON.stringify(health)).toBe(false);
    expect(health.missing_layers ?? []).toEqual([]);
  });
}

/** One target per file: started before its tests, stopped after; the getter throws if the start failed. */
export function useTarget(start: () => Promise<Target>, stop: (t: Target) => Promise<void> = (t) => t.rt.stop()): () => Target {
  let target: Target | undefined;
  beforeAll(async () => {
    target = await start();
  });
  afterAll(async () => {
    if (target) await stop(target);
  });
  return () => {
    if (!target) throw new Error("the suite's runtime did not start");
    return target;
  };
}
