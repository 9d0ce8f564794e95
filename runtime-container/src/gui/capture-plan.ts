import {
  AppError,
  type CaptureScreenshot,
  DEFAULT_FRAME_INTERVAL_MS,
  DEFAULT_MAX_FRAMES,
  ErrorCode,
} from "../../../shared/src/index.ts";

/** A rectangle of the screen in pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What a picture shows: the whole screen, one window (by its exact title), or one area (already clipped). */
export type CaptureTarget = { kind: "screen" } | { kind: "window"; title: string } | { kind: "region"; rect: Rect };
export const WHOLE_SCREEN: CaptureTarget = { kind: "screen" };

/**
 * How a run is pictured: `hooks` (today's `true`: the run's GUI hooks take pictures while its windows are up, one
 * picture of the display at the end when they took none) or `frames` (the runtime takes one every `intervalMs`,
 * at most `maxFrames`, until the run ends).
 */
export type CapturePlan =
  | { mode: "hooks"; target: CaptureTarget }
  | { mode: "frames"; target: CaptureTarget; intervalMs: number; maxFrames: number };

/** `WIDTHxHEIGHTxDEPTH` → the screen's size. */
export function screenSize(screen: string): { width: number; height: number } {
  const [width, height] = screen.split("x").map(Number);
  return { width: width as number, height: height as number };
}

/** `rect` within the screen, or null when nothing of it is on the screen. */
export function clipToScreen(rect: Rect, screen: { width: number; height: number }): Rect | null {
  const x = Math.max(0, rect.x);
  const y = Math.max(0, rect.y);
  const right = Math.min(screen.width, rect.x + rect.width);
  const bottom = Math.min(screen.height, rect.y + rect.height);
  return right > x && bottom > y ? { x, y, width: right - x, height: bottom - y } : null;
}

/** ImageMagick's crop geometry for `rect`. */
export const cropGeometry = (r: Rect): string => `${r.width}x${r.height}+${r.x}+${r.y}`;

/**
 * The plan for a validated `capture_screenshot` (null: no screenshots). A region is clipped to the screen here, and
 * one wholly off the screen is a 400 before the run starts (the worker cannot know the runtime's screen).
 */
export function capturePlan(request: CaptureScreenshot | undefined, screen: string): CapturePlan | null {
  if (request === undefined || request === false) return null;
  if (request === true) return { mode: "hooks", target: WHOLE_SCREEN };
  let target: CaptureTarget = WHOLE_SCREEN;
  if (request.window !== undefined) target = { kind: "window", title: request.window };
  if (request.region !== undefined) {
    const size = screenSize(screen);
    const rect = clipToScreen(request.region, size);
    if (!rect) {
      const { x, y } = request.region;
      throw new AppError(
        ErrorCode.VALIDATION_FAILED,
        `Invalid capture_screenshot.region: (${x}, ${y}) is outside the ${size.width}x${size.height} screen`,
        [{ path: ["capture_screenshot", "region"], message: `outside the ${size.width}x${size.height} screen` }],
      );
    }
    target = { kind: "region", rect };
  }
  if (request.interval_ms === undefined && request.max_frames === undefined) return { mode: "hooks", target };
  return {
    mode: "frames",
    target,
    intervalMs: request.interval_ms ?? DEFAULT_FRAME_INTERVAL_MS,
    maxFrames: request.max_frames ?? DEFAULT_MAX_FRAMES,
  };
}

/** A window that was asked for and not found: what the result says instead of its picture. */
export const windowMissing = (title: string): string =>
  `capture_screenshot: no window titled ${JSON.stringify(title)} was on the screen (titles must match exactly)`;

/**
 * A window's rectangle from `xwininfo -name` output (absolute position and size), null when it is not viewable. The
 * text comes from a tool that spoke to the thread's X server: parsed defensively, numbers only.
 */
export function parseWindowInfo(text: string): Rect | null {
  const field = (name: string) => {
    const m = new RegExp(`^\\s*${name}:\\s*(-?\\d{1,6})\\s*$`, "m").exec(text);
    return m ? Number(m[1]) : null;
  };
  const [x, y, width, height] = ["Absolute upper-left X", "Absolute upper-left Y", "Width", "Height"].map(field);
  if (x == null || y == null || width == null || height == null) return null;
  if (!/^\s*Map State:\s*IsViewable\s*$/m.test(text)) return null;
  return { x, y, width, height };
}
