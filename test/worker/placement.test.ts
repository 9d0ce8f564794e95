import { describe, expect, it } from "vitest";
import { AppError, ErrorCode } from "../../shared/src/index.ts";
import { chooseRuntime } from "../../worker/src/runtime/choose.ts";
import { callWithFailover } from "../../worker/src/runtime/failover.ts";
import { BACKOFF_MAX_MS, FRESH_MS, RuntimeHealth } from "../../worker/src/runtime/health.ts";
import { placeThread, rankRuntimes } from "../../worker/src/runtime/rendezvous.ts";

// The placement and health rules on their own (the Durable Object side is in placement-do.test.ts).
const URLS = ["http://rt-0:8788", "http://rt-1:8788", "http://rt-2:8788", "http://rt-3:8788"];
const keys = (n: number) => Array.from({ length: n }, (_, i) => `acme/thread-${i}`);

/** A key whose rendezvous ranking over `urls` starts with `first`. */
function keyRankedFirst(urls: string[], first: string): string {
  const key = keys(200).find((k) => rankRuntimes(urls, k)[0] === first);
  if (!key) throw new Error(`no key ranks ${first} first`);
  return key;
}

/** A clock the test moves by hand. */
function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe("rendezvous ranking", () => {
  it("spreads threads evenly and ranks every runtime once", () => {
    const counts = new Map(URLS.map((u) => [u, 0]));
    for (const key of keys(2000)) {
      const url = placeThread(URLS, key);
      counts.set(url, (counts.get(url) ?? 0) + 1);
    }
    for (const n of counts.values()) expect(n).toBeGreaterThan(400); // 500 each if perfectly even
    expect(rankRuntimes(URLS, "acme/x").toSorted()).toEqual(URLS);
  });

  it("moves only the threads of a removed runtime, and only to a new one when one is added", () => {
    const fewer = URLS.filter((u) => u !== "http://rt-2:8788");
    for (const key of keys(500)) {
      const before = placeThread(URLS, key);
      if (before !== "http://rt-2:8788") expect(placeThread(fewer, key)).toBe(before);
      const after = placeThread([...URLS, "http://rt-4:8788"], key);
      expect([before, "http://rt-4:8788"]).toContain(after);
    }
  });
});

describe("runtime health", () => {
  it("lets replayable calls through unprobed; probes before any other unless the runtime just answered, or after a failure", () => {
    let now = 1_000_000;
    const health = new RuntimeHealth(() => now);
    expect([health.verdict("a", true), health.verdict("a", false)]).toEqual(["use", "probe"]);
    health.up("a");
    expect([health.verdict("a", true), health.verdict("a", false)]).toEqual(["use", "use"]);
    now += FRESH_MS;
    expect([health.verdict("a", true), health.verdict("a", false)]).toEqual(["use", "probe"]);
    health.up("a");
    health.suspect("a");
    expect([health.verdict("a", true), health.verdict("a", false)]).toEqual(["probe", "probe"]);
  });

  it("skips a runtime that failed a probe until its backoff ends, doubling up to the cap; an answer resets it", () => {
    const t = clock();
    const health = new RuntimeHealth(t.now);
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      health.down("a");
      const { retry_at } = health.status("a");
      waits.push((retry_at ?? 0) - t.now());
      expect(health.verdict("a", true)).toBe("skip");
      t.advance(waits.at(-1) ?? 0);
      expect(health.verdict("a", true)).toBe("probe");
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, BACKOFF_MAX_MS, BACKOFF_MAX_MS, BACKOFF_MAX_MS]);
    health.suspect("a"); // a failed call does not shorten a backoff
    expect(health.status("a").state).toBe("down");
    health.record("a", true);
    expect(health.status("a")).toEqual({ url: "a", state: "up" });
    health.down("a");
    expect((health.status("a").retry_at ?? 0) - t.now()).toBe(1000);
  });
});

describe("choosing a thread's runtime", () => {
  const [a, b, c] = URLS as [string, string, string];
  const fleet = [a, b, c];

  /** `answers`: which runtimes answer a probe (the test may change it); b ranks first for the thread. */
  function setup(answers: Record<string, boolean>) {
    const probed: string[] = [];
    const health = new RuntimeHealth(clock().now);
    const probe = async (url: string) => (probed.push(url), answers[url] ?? false);
    const key = keyRankedFirst(fleet, b);
    const choose = (current: string, replayable = false) => chooseRuntime({ urls: fleet, key, current, replayable, health, probe });
    return { probed, health, choose };
  }

  it("keeps a thread on its runtime while it answers, even where another ranks first", async () => {
    const s = setup({ [a]: true, [b]: true, [c]: true });
    expect(await s.choose(a)).toBe(a);
    expect(s.probed).toEqual([a]);
  });

  it("moves a thread whose runtime does not answer to the best-ranked runtime that does", async () => {
    const key = keyRankedFirst(fleet, b);
    const order = rankRuntimes(fleet, key).filter((u) => u !== c);
    const s = setup({ [order[1] as string]: true });
    expect(await s.choose(c)).toBe(order[1]);
    expect(s.probed).toEqual([c, ...order]);
    expect([s.health.status(c).state, s.health.status(b).state]).toEqual(["down", "down"]);
  });

  it("skips a runtime in backoff without a probe while another answers", async () => {
    const s = setup({ [a]: true });
    expect(await s.choose(b)).toBe(a);
    s.probed.length = 0;
    expect(await s.choose(b, true)).toBe(a);
    expect(await s.choose(b)).toBe(a);
    // b is never probed again during its backoff; a answered its probe just now, so no call needs another.
    expect(s.probed).toEqual([]);
  });

  it("probes runtimes in backoff anyway when no other answers, and names none when none does", async () => {
    const answers: Record<string, boolean> = {};
    const s = setup(answers);
    expect(await s.choose(a)).toBeNull();
    s.probed.length = 0;
    expect(await s.choose(a)).toBeNull();
    expect(s.probed.toSorted()).toEqual(fleet.toSorted());
    answers[c] = true; // the fleet comes back while every runtime is still in its backoff
    expect(await s.choose(a)).toBe(c);
    expect(s.health.status(c).state).toBe("up");
  });

  it("moves a thread whose runtime left the configuration", async () => {
    const s = setup({ [a]: true, [b]: true, [c]: true });
    expect(await s.choose("http://retired:8788", true)).toBe(b);
    expect(s.probed).toEqual([]);
  });
});

describe("failover of one call", () => {
  const lost = () => {
    throw new AppError(ErrorCode.RUNTIME_UNAVAILABLE, "the runtime at x is unreachable: Network connection lost.");
  };
  const missing = () => {
    throw new AppError(ErrorCode.FILE_NOT_FOUND, "no such file");
  };

  function steps(replayable: boolean, outcomes: (() => string)[]) {
    const routed: string[] = [];
    const failed: string[] = [];
    let n = 0;
    const run = callWithFailover({
      replayable,
      route: async () => ({ url: `rt-${routed.push("r") - 1}` }),
      send: async () => (outcomes[n++] ?? (() => "none"))(),
      failed: (url) => void failed.push(url),
    });
    return { run, routed, failed, sent: () => n };
  }

  it("sends a replayable call once more, routed again, after a runtime failure", async () => {
    const s = steps(true, [lost, () => "ok"]);
    expect(await s.run).toEqual({ url: "rt-1", value: "ok" });
    expect(s.failed).toEqual(["rt-0"]);
  });

  it("never sends any other call twice, and says so", async () => {
    const s = steps(false, [lost, () => "ok"]);
    await expect(s.run).rejects.toThrow(/may have reached it, so it is not sent again/);
    expect([s.sent(), s.failed]).toEqual([1, ["rt-0"]]);
  });

  it("passes the runtime's own errors through without blaming the runtime", async () => {
    const s = steps(true, [missing]);
    await expect(s.run).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
    expect([s.sent(), s.failed]).toEqual([1, []]);
  });

  it("gives up after the second attempt of a replayable call", async () => {
    const s = steps(true, [lost, lost, () => "never"]);
    await expect(s.run).rejects.toMatchObject({ code: "RUNTIME_UNAVAILABLE" });
    expect([s.sent(), s.failed]).toEqual([2, ["rt-0", "rt-1"]]);
  });
});
