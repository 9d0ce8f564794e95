import { z } from "zod";
import type { DisplayOutput } from "./exec.ts";

/** The most frames one run may take, and the shortest interval between two: each frame is a full PNG in the result. */
export const MAX_SCREENSHOT_FRAMES = 50;
export const MIN_FRAME_INTERVAL_MS = 100;
export const DEFAULT_FRAME_INTERVAL_MS = 1_000;
export const DEFAULT_MAX_FRAMES = 10;

const coordinate = (name: string) =>
  z.number({ error: `${name} is a whole number of pixels` }).int(`${name} is a whole number of pixels`).min(0, `${name} is 0 or more`).max(32_767);
const extent = (name: string) =>
  z.number({ error: `${name} is a whole number of pixels` }).int(`${name} is a whole number of pixels`).min(1, `${name} is at least 1`).max(32_767);

/** An area of the screen in pixels from its top-left corner; the runtime clips it to the screen. */
export const ScreenRegionSchema = z.strictObject({
  x: coordinate("x"),
  y: coordinate("y"),
  width: extent("width"),
  height: extent("height"),
});
export type ScreenRegion = z.infer<typeof ScreenRegionSchema>;

/**
 * What to capture beyond `true`: frames during the run (`interval_ms`, `max_frames`), and/or only one window (by its
 * exact title) or one area of the screen.
 */
export const ScreenshotOptionsSchema = z
  .strictObject({
    /** Milliseconds between two frames (at least 100); giving it (or max_frames) asks for frames. */
    interval_ms: z
      .number()
      .int("interval_ms is a whole number of milliseconds")
      .min(MIN_FRAME_INTERVAL_MS, `interval_ms is at least ${MIN_FRAME_INTERVAL_MS} (milliseconds between frames)`)
      .max(60_000, "interval_ms is at most 60000")
      .optional(),
    /** The most frames the run returns (1–50); frames stop when the run ends. */
    max_frames: z
      .number()
      .int("max_frames is a whole number")
      .min(1, "max_frames is at least 1")
      .max(MAX_SCREENSHOT_FRAMES, `max_frames is at most ${MAX_SCREENSHOT_FRAMES}`)
      .optional(),
    /** Only the window with this exact title (a window that is not on the screen is reported in the result). */
    window: z
      .string()
      .min(1, "window is a window's title")
      .max(256, "window is at most 256 characters")
      .refine((t) => !/[\u0000-\u001f\u007f]/.test(t), "window cannot contain control characters")
      .optional(),
    /** Only this area of the screen. */
    region: ScreenRegionSchema.optional(),
  })
  .refine((o) => !(o.window !== undefined && o.region !== undefined), { message: "give window or region, not both", path: ["region"] })
  .refine((o) => Object.keys(o).length > 0, "give interval_ms and/or max_frames (frames), window or region; or true for today's screenshots");
export type ScreenshotOptions = z.infer<typeof ScreenshotOptionsSchema>;

/** `capture_screenshot` as a request gives it: true, false, or the options above. */
export const ScreenshotRequestSchema = z.union([z.boolean(), ScreenshotOptionsSchema], {
  error: (issue) =>
    issue.code === "invalid_union" ? "capture_screenshot is true, false or {interval_ms?, max_frames?, window? | region?}" : undefined,
});
export const CaptureScreenshotSchema = ScreenshotRequestSchema.default(false);
export type CaptureScreenshot = z.infer<typeof CaptureScreenshotSchema>;

/** A `display` event's output as a result's `displays` lists it (a frame keeps its time). */
export function displayOf(event: { mime: string; data: string; source: DisplayOutput["source"]; time_ms?: number }): DisplayOutput {
  const { mime, data, source, time_ms } = event;
  return time_ms === undefined ? { mime, data, source } : { mime, data, source, time_ms };
}
