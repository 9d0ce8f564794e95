import { describe, expect, it } from "vitest";
import { AppError, ExecRequestSchema, RunPythonParamsSchema } from "../../shared/src/index.ts";
import { capturePlan, clipToScreen, parseWindowInfo } from "../../runtime-container/src/gui/capture-plan.ts";

const SCREEN = "800x600x24";
const XWININFO = `
xwininfo: Window id: 0x20000f "Settings"

  Absolute upper-left X:  700
  Absolute upper-left Y:  500
  Relative upper-left X:  700
  Relative upper-left Y:  500
  Width: 300
  Height: 200
  Depth: 24
  Map State: IsViewable
  Corners:  +700+500  --200+500  --200--100  +700--100
`;

describe("capture_screenshot's plan", () => {
  it("keeps true as today's hooks on the whole screen, and false as none", () => {
    expect(capturePlan(true, SCREEN)).toEqual({ mode: "hooks", target: { kind: "screen" } });
    expect(capturePlan(false, SCREEN)).toBeNull();
    expect(capturePlan(undefined, SCREEN)).toBeNull();
    expect(ExecRequestSchema.parse({ command: "true" }).capture_screenshot).toBe(false);
  });

  it("asks for frames when interval_ms or max_frames is given, with defaults for the other", () => {
    expect(capturePlan({ max_frames: 3 }, SCREEN)).toEqual({ mode: "frames", target: { kind: "screen" }, intervalMs: 1000, maxFrames: 3 });
    expect(capturePlan({ interval_ms: 250, window: "w" }, SCREEN)).toEqual({ mode: "frames", target: { kind: "window", title: "w" }, intervalMs: 250, maxFrames: 10 });
  });

  it("clips a region to the screen and refuses one that starts off it, naming the field", () => {
    expect(capturePlan({ region: { x: 700, y: 550, width: 300, height: 200 } }, SCREEN)).toEqual({
      mode: "hooks",
      target: { kind: "region", rect: { x: 700, y: 550, width: 100, height: 50 } },
    });
    const off = (() => {
      try {
        capturePlan({ region: { x: 0, y: 600, width: 10, height: 10 } }, SCREEN);
      } catch (err) {
        return err;
      }
    })();
    expect(off).toBeInstanceOf(AppError);
    expect(off).toMatchObject({ code: "VALIDATION_FAILED", message: expect.stringContaining("capture_screenshot.region") });
  });

  it("validates the bounds in the shared schema with messages naming the field", () => {
    const issues = (v: unknown) => {
      const r = RunPythonParamsSchema.safeParse({ code: "pass", capture_screenshot: v });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(issues({ interval_ms: 99 })).toEqual(["capture_screenshot.interval_ms: interval_ms is at least 100 (milliseconds between frames)"]);
    expect(issues({ max_frames: 51 })).toEqual(["capture_screenshot.max_frames: max_frames is at most 50"]);
    expect(issues({ region: { x: 0, y: 0, width: 0, height: 1 } })).toEqual(["capture_screenshot.region.width: width is at least 1"]);
    expect(issues({})[0]).toMatch(/^capture_screenshot: give interval_ms/);
    expect(issues("yes")[0]).toMatch(/^capture_screenshot: capture_screenshot is true, false or/);
    expect(issues({ interval_ms: 100, max_frames: 50, region: { x: 0, y: 0, width: 1, height: 1 } })).toEqual([]);
  });
});

describe("xwininfo's answer", () => {
  it("gives the window's absolute rectangle, clipped to the screen by the caller", () => {
    const rect = parseWindowInfo(XWININFO);
    expect(rect).toEqual({ x: 700, y: 500, width: 300, height: 200 });
    expect(clipToScreen(rect as NonNullable<typeof rect>, { width: 800, height: 600 })).toEqual({ x: 700, y: 500, width: 100, height: 100 });
    expect(clipToScreen({ x: -50, y: -50, width: 40, height: 40 }, { width: 800, height: 600 })).toBeNull();
  });

  it("is no window when not viewable, or when a field is missing or not a number", () => {
    expect(parseWindowInfo(XWININFO.replace("IsViewable", "IsUnMapped"))).toBeNull();
    expect(parseWindowInfo(XWININFO.replace("  Width: 300\n", ""))).toBeNull();
    expect(parseWindowInfo(XWININFO.replace("Width: 300", "Width: 3e9"))).toBeNull();
    expect(parseWindowInfo("")).toBeNull();
  });
});
