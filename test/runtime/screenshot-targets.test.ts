import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecResult, ExecutionEvent, RunPythonResponse } from "../../shared/src/index.ts";
import { type RuntimeProcess, liveEvents, startRuntime } from "./harness.ts";

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime({ DISPLAY_SCREEN: "800x600x24" });
});
afterAll(async () => {
  await rt?.stop();
});

type Display = Extract<ExecutionEvent, { type: "display" }>;

/** A PNG's size and its mean red, green and blue (0–1), decoded by ImageMagick. */
async function inspectPng(base64: string) {
  const png = Buffer.from(base64, "base64");
  expect(png.subarray(1, 4).toString()).toBe("PNG");
  const { stdout } = await execa("identify", ["-format", "%w %h %[fx:mean.r] %[fx:mean.g] %[fx:mean.b]", "png:-"], { input: png });
  const [width, height, r, g, b] = stdout.trim().split(" ").map(Number);
  return { width, height, r: r as number, g: g as number, b: b as number };
}

/**
 * A Tk animation: a square moves and changes colour every 100 ms until the test drops `stop-animation` into the
 * workspace (bounded: 600 steps).
 */
const ANIMATION = `
import os, tkinter as tk
root = tk.Tk()
root.title("animation")
root.geometry("400x300+0+0")
canvas = tk.Canvas(root, width=400, height=300, bg="white", highlightthickness=0)
canvas.pack()
square = canvas.create_rectangle(0, 100, 80, 180, fill="red", width=0)
colours = ["red", "green", "blue", "black"]
step = {"n": 0}
def tick():
    step["n"] += 1
    if os.path.exists("/workspace/stop-animation") or step["n"] > 600:
        print("stopped")
        root.destroy()
        return
    canvas.coords(square, (step["n"] * 20) % 320, 100, (step["n"] * 20) % 320 + 80, 180)
    canvas.itemconfigure(square, fill=colours[step["n"] % 4])
    root.after(100, tick)
root.after(100, tick)
root.mainloop()
`;

/** Two windows: a red main window and a blue tool window with its own title and place. */
const TWO_WINDOWS = `
import tkinter as tk
root = tk.Tk()
root.title("threadbox main")
root.geometry("400x300+10+10")
tk.Frame(root, bg="red", width=400, height=300).pack()
tool = tk.Toplevel(root, bg="blue")
tool.title("threadbox tool")
tool.geometry("200x150+500+300")
root.after(1500, root.destroy)
root.mainloop()
print("closed")
`;

describe("capture_screenshot: frames during the run", () => {
  it("streams a Tk animation's frames with their times as they are taken, at most max_frames, before the result", async () => {
    const res = await rt.call("POST", "/threads/acme/frames/run_python", {
      body: { code: ANIMATION, capture_screenshot: { interval_ms: 200, max_frames: 3 }, timeout: 120 },
      accept: "ndjson",
    });
    expect(res.status).toBe(200);
    const events: ExecutionEvent[] = [];
    let stopped = false;
    for await (const { event } of liveEvents(res)) {
      events.push(event);
      const frames = events.filter((e) => e.type === "display").length;
      if (frames === 3 && !stopped) {
        stopped = true;
        // Frames come while the program runs (it only ends once told to); a fourth would be due within this wait.
        await sleep(1_000);
        const put = await rt.call("PUT", "/threads/acme/frames/files/stop-animation", { raw: "stop" });
        expect(put.status).toBe(201);
      }
    }
    const result = events.at(-1) as Extract<ExecutionEvent, { type: "result" }>;
    expect(result.type).toBe("result");
    expect((result.result.value as RunPythonResponse).metadata.stdout).toBe("stopped\n");
    const frames = events.filter((e): e is Display => e.type === "display");
    expect(frames).toHaveLength(3);
    for (const f of frames) expect(f).toMatchObject({ mime: "image/png", source: "screenshot" });
    const times = frames.map((f) => f.time_ms as number);
    expect(times.every((t) => Number.isInteger(t) && t > 0)).toBe(true);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(new Set(times).size).toBe(3);
    // The animation moved between frames: they are not all the same picture.
    expect(new Set(frames.map((f) => f.data)).size).toBeGreaterThan(1);
    for (const f of frames) expect(await inspectPng(f.data)).toMatchObject({ width: 800, height: 600 });
  });

  it("returns frames with their times in a JSON answer's displays (exec, a window-less run)", async () => {
    const r = await rt.json<ExecResult>("POST", "/threads/acme/frames/exec", { command: "sleep 3; echo done", capture_screenshot: { max_frames: 1, interval_ms: 100 } });
    expect(r.stdout).toBe("done\n");
    expect(r.displays).toHaveLength(1);
    expect(r.displays?.[0]).toMatchObject({ mime: "image/png", source: "screenshot" });
    expect(Number.isInteger(r.displays?.[0]?.time_ms)).toBe(true);
    // Frames stop when the run ends: a one-second run does not wait for 50 frames 100 ms apart.
    const short = await rt.json<ExecResult>("POST", "/threads/acme/frames/exec", { command: "sleep 1", capture_screenshot: { max_frames: 50, interval_ms: 100 } });
    expect(short.displays?.length).toBeGreaterThan(0);
    expect(short.displays?.length).toBeLessThan(50);
  });

  it("refuses out-of-bounds frames with a 400 naming the field", async () => {
    const tooFast = await rt.json<{ error: { code: string; message: string } }>("POST", "/threads/acme/frames/exec", { command: "true", capture_screenshot: { interval_ms: 10 } }, 400);
    expect(tooFast.error.code).toBe("VALIDATION_FAILED");
    expect(tooFast.error.message).toContain("capture_screenshot.interval_ms");
    const tooMany = await rt.json<{ error: { code: string; message: string } }>("POST", "/threads/acme/frames/run_python", { code: "pass", capture_screenshot: { max_frames: 51 } }, 400);
    expect(tooMany.error.message).toContain("capture_screenshot.max_frames");
    const empty = await rt.json<{ error: { code: string; message: string } }>("POST", "/threads/acme/frames/exec", { command: "true", capture_screenshot: {} }, 400);
    expect(empty.error.message).toContain("capture_screenshot");
  });
});

describe("capture_screenshot: one window or one area", () => {
  it("captures the window with the given title only (its size, its colour)", async () => {
    const r = await rt.json<RunPythonResponse>("POST", "/threads/acme/shot-window/run_python", { code: TWO_WINDOWS, capture_screenshot: { window: "threadbox tool" } });
    expect(r.metadata.stdout).toBe("closed\n");
    const shots = (r.displays ?? []).filter((d) => d.mime === "image/png");
    expect(shots.length).toBeGreaterThanOrEqual(1);
    const shot = await inspectPng(shots[0]?.data as string);
    expect(shot).toMatchObject({ width: 200, height: 150 });
    expect(shot.b).toBeGreaterThan(0.9);
    expect(shot.r).toBeLessThan(0.1);
  });

  it("says in the result when no window has the title: no picture, not a failed run", async () => {
    const r = await rt.json<RunPythonResponse>("POST", "/threads/acme/shot-window/run_python", { code: TWO_WINDOWS, capture_screenshot: { window: "no such window" } });
    expect(r.is_error).toBe(false);
    expect(r.metadata.stdout).toBe("closed\n");
    expect(r.displays?.filter((d) => d.mime === "image/png")).toEqual([]);
    const notes = (r.displays ?? []).filter((d) => d.mime === "text/plain");
    expect(notes).toHaveLength(1);
    expect(notes[0]?.data).toContain('no window titled "no such window"');
  });

  it("takes frames of one window, and reports a window that never appears in frames mode too", async () => {
    const code = TWO_WINDOWS.replace("root.after(1500", "root.after(4000");
    const r = await rt.json<RunPythonResponse>("POST", "/threads/acme/shot-window/run_python", { code, capture_screenshot: { window: "threadbox tool", interval_ms: 200, max_frames: 2 } });
    expect(r.displays).toHaveLength(2);
    for (const d of r.displays ?? []) expect(await inspectPng(d.data)).toMatchObject({ width: 200, height: 150 });
    const ghost = await rt.json<ExecResult>("POST", "/threads/acme/shot-window/exec", { command: "sleep 1", capture_screenshot: { window: "ghost", interval_ms: 100, max_frames: 2 } });
    expect(ghost.exit_code).toBe(0);
    expect(ghost.displays).toHaveLength(1);
    expect(ghost.displays?.[0]).toMatchObject({ mime: "text/plain", source: "screenshot" });
    expect(ghost.displays?.[0]?.data).toContain('"ghost"');
  });

  it("captures a region, clipped to the screen", async () => {
    const inside = await rt.json<RunPythonResponse>("POST", "/threads/acme/shot-region/run_python", {
      code: TWO_WINDOWS,
      capture_screenshot: { region: { x: 20, y: 20, width: 120, height: 90 } },
    });
    const shot = await inspectPng((inside.displays ?? []).find((d) => d.mime === "image/png")?.data as string);
    // Inside the red main window.
    expect(shot).toMatchObject({ width: 120, height: 90 });
    expect(shot.r).toBeGreaterThan(0.9);
    const clipped = await rt.json<ExecResult>("POST", "/threads/acme/shot-region/exec", { command: "true", capture_screenshot: { region: { x: 700, y: 550, width: 300, height: 200 } } });
    expect(await inspectPng(clipped.displays?.[0]?.data as string)).toMatchObject({ width: 100, height: 50 });
  });

  it("refuses a region off the screen or malformed, and window with region, with a 400 naming the field", async () => {
    const call = (capture: unknown) => rt.json<{ error: { code: string; message: string } }>("POST", "/threads/acme/shot-region/exec", { command: "true", capture_screenshot: capture }, 400);
    const off = await call({ region: { x: 800, y: 0, width: 10, height: 10 } });
    expect(off.error).toMatchObject({ code: "VALIDATION_FAILED" });
    expect(off.error.message).toContain("capture_screenshot.region");
    expect(off.error.message).toContain("800x600");
    expect((await call({ region: { x: 0, y: 0, width: 0, height: 10 } })).error.message).toContain("capture_screenshot.region.width");
    expect((await call({ region: { x: -5, y: 0, width: 10, height: 10 } })).error.message).toContain("capture_screenshot.region.x");
    expect((await call({ window: "a", region: { x: 0, y: 0, width: 10, height: 10 } })).error.message).toContain("not both");
    expect((await call({ window: "bad\ntitle" })).error.message).toContain("capture_screenshot.window");
  });
});
