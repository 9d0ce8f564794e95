import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Threadbox } from "../../client/src/index.ts";
import { type ExecutionEvent, RunPythonResponseSchema } from "../../shared/src/index.ts";
import { type ErrorJson, NDJSON, checkTerminal, createThread, expectJson, liveEvents, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// capture_screenshot beyond `true`, through the worker in workerd and a real runtime: the README's examples (also the
// OpenAPI document's, see test/worker/openapi-coverage.test.ts) as they are written there.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

type Body = Record<string, unknown> & { capture_screenshot?: Record<string, unknown> };
const README_BODIES = [...readFileSync(new URL("../../README.md", import.meta.url), "utf8").matchAll(/-d '([^']*)'/g)].map((m) => JSON.parse(m[1] as string) as Body);
/** The README's request body whose capture_screenshot object has `key`. */
const example = (key: "interval_ms" | "window" | "region"): Body => {
  const found = README_BODIES.filter((b) => typeof b.capture_screenshot === "object" && key in b.capture_screenshot);
  expect(found).toHaveLength(1);
  return found[0] as Body;
};
/** Width and height from a PNG's IHDR chunk. */
const pngSize = (base64: string) => {
  const png = Buffer.from(base64, "base64");
  expect(png.subarray(1, 4).toString()).toBe("PNG");
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
};

describe("screenshots beyond one frame, end to end", () => {
  it("streams an animation's frames with their times before the result, and keeps them in the execution's events", async () => {
    const thread = await createThread(stack, uniqueId("frames"));
    const res = await stack.api("POST", `/v1/threads/${thread}/run_python`, { body: example("interval_ms"), accept: NDJSON });
    expect(res.status).toBe(200);
    const events: ExecutionEvent[] = [];
    for await (const { event } of liveEvents(res)) events.push(event);
    expect(checkTerminal(events)).toMatchObject({ type: "result" });
    const frames = events.filter((e): e is Extract<ExecutionEvent, { type: "display" }> => e.type === "display");
    // The program animates for two seconds and more; a frame is due every 250 ms, at most 8.
    expect(frames.length).toBeGreaterThanOrEqual(1);
    expect(frames.length).toBeLessThanOrEqual(8);
    const times = frames.map((f) => f.time_ms as number);
    expect(times.every((t) => Number.isInteger(t))).toBe(true);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    for (const f of frames) expect(pngSize(f.data)).toEqual([1280, 800]);
    expect(events.findLastIndex((e) => e.type === "display")).toBeLessThan(events.length - 1);
    // The thread's record of the execution has the frames, times included.
    const id = events[0]?.execution_id as string;
    const log = await expectJson<{ events: ExecutionEvent[] }>(stack.api("GET", `/v1/threads/${thread}/executions/${id}/events`), 200);
    expect(log.events.filter((e) => e.type === "display").map((e) => (e as { time_ms?: number }).time_ms)).toEqual(times);
  });

  it("captures one window by its title, and one area of the screen through run_code", async () => {
    const thread = await createThread(stack, uniqueId("window"));
    const window = RunPythonResponseSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/run_python`, { body: example("window") }), 200));
    expect(window.is_error).toBe(false);
    const shot = window.displays?.find((d) => d.mime === "image/png");
    const [width, height] = pngSize(shot?.data as string);
    // The Settings window alone: a label's size, far from the 1280x800 screen.
    expect(width).toBeGreaterThan(10);
    expect(width).toBeLessThan(1280);
    expect(height).toBeLessThan(800);
    const region = RunPythonResponseSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/run_code`, { body: example("region") }), 200));
    expect(pngSize(region.displays?.find((d) => d.mime === "image/png")?.data as string)).toEqual([320, 200]);
    const missing = RunPythonResponseSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/run_python`, { body: { ...example("window"), capture_screenshot: { window: "Nope" } } }), 200),
    );
    expect(missing.is_error).toBe(false);
    expect(missing.displays).toEqual([expect.objectContaining({ mime: "text/plain", source: "screenshot", data: expect.stringContaining('"Nope"') })]);
  });

  it("the SDK takes the options and hands each frame's time to onDisplay and in displays", async () => {
    const tb = new Threadbox({ baseUrl: stack.worker.url, apiKey: stack.tenants.a.key });
    const thread = tb.thread(uniqueId("sdk-frames"));
    const seen: (number | undefined)[] = [];
    const r = await thread.exec("sleep 2", { capture_screenshot: { max_frames: 1, interval_ms: 200 }, onDisplay: (d) => void seen.push(d.time_ms) });
    expect(r.exit_code).toBe(0);
    expect(r.displays?.map((d) => d.time_ms)).toEqual(seen);
    expect(seen).toHaveLength(1);
    expect(Number.isInteger(seen[0])).toBe(true);
  });

  it("refuses unbounded frames and a region off the screen with 400 VALIDATION_FAILED naming the field", async () => {
    const thread = await createThread(stack, uniqueId("shots-400"));
    const fast = await expectJson<ErrorJson>(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "true", capture_screenshot: { interval_ms: 20 } } }), 400);
    expect(fast.error.code).toBe("VALIDATION_FAILED");
    expect(fast.error.message).toContain("capture_screenshot.interval_ms");
    const many = await expectJson<ErrorJson>(stack.api("POST", `/v1/threads/${thread}/run_code`, { body: { language: "bash", code: "true", capture_screenshot: { max_frames: 500 } } }), 400);
    expect(many.error.message).toContain("capture_screenshot.max_frames");
    // The worker cannot know the runtime's screen: the runtime's 400 comes through.
    const off = await expectJson<ErrorJson>(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "true", capture_screenshot: { region: { x: 5000, y: 0, width: 10, height: 10 } } } }), 400);
    expect(off.error.code).toBe("VALIDATION_FAILED");
    expect(off.error.message).toContain("capture_screenshot.region");
  });
});
