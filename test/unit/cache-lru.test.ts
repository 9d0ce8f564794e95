import { describe, expect, it } from "vitest";
import { type CacheUnit, chooseEvictions, unitOf } from "../../runtime-container/src/quota/cache-lru.ts";

const unit = (name: string, bytes: number, lastUsedMs: number): CacheUnit => ({ segments: name.split("/"), bytes, lastUsedMs });
const names = (units: CacheUnit[]) => units.map((u) => u.segments.join("/"));

describe("chooseEvictions", () => {
  it("removes nothing when the cache fits, exactly at the cap included", () => {
    expect(chooseEvictions([unit("a", 10, 1), unit("b", 20, 2)], 30)).toEqual([]);
    expect(chooseEvictions([], 0)).toEqual([]);
  });

  it("removes the least recently used first, and only until the rest fits", () => {
    const units = [unit("new", 40, 300), unit("old", 40, 100), unit("mid", 40, 200)];
    expect(names(chooseEvictions(units, 80))).toEqual(["old"]);
    expect(names(chooseEvictions(units, 79))).toEqual(["old", "mid"]);
    expect(names(chooseEvictions(units, 0))).toEqual(["old", "mid", "new"]);
  });

  it("keeps a large recent entry and evicts several small old ones", () => {
    const units = [unit("big-recent", 100, 900), unit("s1", 10, 1), unit("s2", 10, 2), unit("s3", 10, 3)];
    expect(names(chooseEvictions(units, 105))).toEqual(["s1", "s2", "s3"]);
  });

  it("breaks ties by path, so a sweep is repeatable", () => {
    const units = [unit("b", 10, 5), unit("a", 10, 5), unit("c", 10, 5)];
    expect(names(chooseEvictions(units, 10))).toEqual(["a", "b"]);
  });

  it("does not change its input", () => {
    const units = [unit("b", 10, 2), unit("a", 10, 1)];
    chooseEvictions(units, 0);
    expect(names(units)).toEqual(["b", "a"]);
  });
});

describe("unitOf", () => {
  it("takes pip's http and wheel entries by their directory (a response and its body together)", () => {
    expect(unitOf(["http-v2", "a", "b", "c", "d", "e", "0123abcd"])).toEqual(["http-v2", "a", "b", "c", "d", "e"]);
    expect(unitOf(["http-v2", "a", "b", "c", "d", "e", "0123abcd.body"])).toEqual(["http-v2", "a", "b", "c", "d", "e"]);
    expect(unitOf(["wheels", "1f", "2e", "3d", "abc", "pkg-1.0-py3-none-any.whl"])).toEqual(["wheels", "1f", "2e", "3d", "abc"]);
  });

  it("takes other caches by their second-level entry (a whole unpacked package)", () => {
    expect(unitOf(["bun-200000001", "left-pad@1.3.0@@@1", "package.json"])).toEqual(["bun-200000001", "left-pad@1.3.0@@@1"]);
    expect(unitOf(["archive-v0", "xyz", "lib", "mod.py"])).toEqual(["archive-v0", "xyz"]);
  });

  it("keeps top-level files and directories whole", () => {
    expect(unitOf(["selfcheck.json"])).toEqual(["selfcheck.json"]);
    expect(unitOf(["http-v2", "a"])).toEqual(["http-v2", "a"]);
  });
});
