import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ProgressReporter, type ProgressUpdate } from "../../worker/src/mcp/progress.ts";

// The progress of a tool call: throttled, bounded, in order. Fake timers: the interval passes when the test says so.
const limits = { intervalMs: 1_000, maxChars: 10, maxNotifications: 3 };

function reporter(fail = false) {
  const sent: ProgressUpdate[] = [];
  const progress = new ProgressReporter(async (update) => {
    sent.push(update);
    if (fail) throw new Error("the client went away");
  }, limits);
  return { sent, progress };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe("ProgressReporter", () => {
  it("sends the first output at once, gathers what follows within the interval and sends it when the interval ends", async () => {
    const { sent, progress } = reporter();
    progress.add("a\n", 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([{ progress: 1, message: "a\n" }]);
    progress.add("b\n", 2);
    progress.add("c\n", 3);
    await vi.advanceTimersByTimeAsync(999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([{ progress: 1, message: "a\n" }, { progress: 3, message: "b\nc\n" }]);
    await progress.close();
  });

  it("keeps the last maxChars characters of a burst and says how many it left out", async () => {
    const { sent, progress } = reporter();
    progress.add("0123456789abcdefghij-tail", 7);
    await progress.close();
    expect(sent).toEqual([{ progress: 7, message: "[… 15 characters omitted …]\nfghij-tail" }]);
  });

  it("stops after maxNotifications, saying so in the last one", async () => {
    const { sent, progress } = reporter();
    for (let i = 1; i <= 6; i++) {
      progress.add(`${i}`, i);
      await vi.advanceTimersByTimeAsync(1_000);
    }
    await progress.close();
    expect(sent.map((u) => u.progress)).toEqual([1, 2, 3]);
    expect(sent[2]?.message).toMatch(/^3\n\[no further progress/);
  });

  it("sends nothing after close, and a client that went away does not stop the reporter", async () => {
    const { sent, progress } = reporter(true);
    progress.add("x", 1);
    progress.add("y", 2);
    await progress.close();
    progress.add("z", 3);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sent).toEqual([{ progress: 1, message: "x" }]);
  });
});
