import { describe, expect, it } from "vitest";
import type { ProcessLogEntry } from "../../shared/src/index.ts";
import { LogRing } from "../../runtime-container/src/processes/log-ring.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("a process's log ring", () => {
  it("numbers entries, drops the oldest past its budget, and answers after a seq", () => {
    const ring = new LogRing(4096);
    for (let i = 0; i < 200; i++) ring.push(i % 2 ? "stderr" : "stdout", bytes(`line ${i}\n`));
    expect(ring.lastSeq).toBe(199);
    expect(ring.firstSeq).toBeGreaterThan(0);
    const kept = ring.after(-1);
    expect(kept[0]?.seq).toBe(ring.firstSeq);
    expect(kept.at(-1)).toEqual({ seq: 199, stream: "stderr", text: "line 199\n" });
    expect(kept.reduce((n, e) => n + e.text.length * 2 + 32, 0)).toBeLessThanOrEqual(4096);
    expect(ring.after(197).map((e) => e.seq)).toEqual([198, 199]);
  });

  it("splits a huge chunk so one entry never outweighs the ring, and keeps a character split across chunks", () => {
    const ring = new LogRing(64 * 1024);
    ring.push("stdout", new Uint8Array(1024 * 1024).fill(97));
    expect(ring.after(-1).reduce((n, e) => n + e.text.length, 0) * 2).toBeLessThanOrEqual(64 * 1024);
    const euro = bytes("€");
    const small = new LogRing(4096);
    small.push("stdout", euro.subarray(0, 1));
    small.push("stdout", euro.subarray(1));
    small.end();
    expect(small.after(-1).map((e) => e.text).join("")).toBe("€");
  });

  it("tells listeners each new entry, then the end; a listener after the end hears the end at once", () => {
    const ring = new LogRing(4096);
    const heard: (ProcessLogEntry | null)[] = [];
    const stop = ring.subscribe((e) => heard.push(e));
    ring.push("stdout", bytes("a"));
    ring.end();
    stop();
    expect(heard).toEqual([{ seq: 0, stream: "stdout", text: "a" }, null]);
    let late: ProcessLogEntry | null | undefined;
    ring.subscribe((e) => (late = e));
    expect(late).toBeNull();
  });
});
