import { describe, expect, it } from "vitest";
import { ReplayCache } from "../../runtime-container/src/server/replay-cache.ts";

const T0 = 1_700_000_000;
const WINDOW = 300;
const cache = (maxEntries = 1000) => new ReplayCache({ maxEntries, windowSeconds: WINDOW, startedAt: T0 });
const nonce = (i: number) => i.toString(16).padStart(32, "0");

describe("ReplayCache", () => {
  it("accepts a nonce once, and refuses it again for as long as its signature is valid", () => {
    const c = cache();
    expect(c.claim(nonce(1), T0, T0)).toBe("fresh");
    expect(c.claim(nonce(1), T0, T0)).toBe("replayed");
    expect(c.claim(nonce(1), T0, T0 + WINDOW)).toBe("replayed");
    expect(c.claim(nonce(2), T0, T0 + WINDOW)).toBe("fresh");
  });

  it("forgets a nonce only once its signature has expired, measured from the signature's timestamp", () => {
    const c = cache();
    expect(c.claim(nonce(1), T0 + 200, T0)).toBe("fresh"); // a worker clock 200 s ahead
    expect(c.claim(nonce(2), T0, T0)).toBe("fresh");
    expect(c.claim(nonce(3), T0, T0 + WINDOW + 1)).toBe("fresh");
    expect(c.size).toBe(2); // nonce 2 expired at T0 + WINDOW; nonce 1 lives until T0 + 200 + WINDOW
    expect(c.claim(nonce(1), T0 + 200, T0 + 200 + WINDOW)).toBe("replayed");
    expect(c.claim(nonce(4), T0 + 200 + WINDOW + 1, T0 + 200 + WINDOW + 1)).toBe("fresh");
    expect(c.size).toBe(1);
  });

  it("refuses new nonces when full instead of forgetting live ones, and takes them again after expiry", () => {
    const c = cache(3);
    for (let i = 0; i < 3; i++) expect(c.claim(nonce(i), T0 + i, T0 + i)).toBe("fresh");
    expect(c.claim(nonce(10), T0 + 3, T0 + 3)).toBe("full");
    for (let i = 0; i < 3; i++) expect(c.claim(nonce(i), T0 + i, T0 + 3)).toBe("replayed");
    // The first entry's signature expires at T0 + WINDOW: one slot frees up, and no more.
    expect(c.claim(nonce(10), T0 + WINDOW + 1, T0 + WINDOW + 1)).toBe("fresh");
    expect(c.claim(nonce(11), T0 + WINDOW + 1, T0 + WINDOW + 1)).toBe("full");
    expect(c.claim(nonce(1), T0 + 1, T0 + WINDOW + 1)).toBe("replayed");
  });

  it("refuses signatures dated before it existed: a restarted runtime cannot vouch for them", () => {
    const c = cache();
    expect(c.claim(nonce(1), T0 - 1, T0)).toBe("stale");
    expect(c.claim(nonce(1), T0, T0)).toBe("fresh");
    expect(c.size).toBe(1);
  });

  it("stays bounded under a long stream of requests", () => {
    const c = cache(100_000);
    let refused = 0;
    for (let second = 0; second < 3 * WINDOW; second++) {
      for (let i = 0; i < 50; i++) if (c.claim(nonce(second * 50 + i), T0 + second, T0 + second) !== "fresh") refused++;
    }
    expect(refused).toBe(0);
    expect(c.size).toBe((WINDOW + 1) * 50);
  });
});
