import { z } from "zod";
import { AppError, ErrorCode } from "./errors.ts";

/**
 * A workspace-relative file path as clients send it: no NUL, no backslash, no empty or `.`/`..` segments,
 * not absolute (a leading `/` or `/workspace/` is accepted and stripped by normalizeWorkspacePath first).
 */
export const RelativeFilePathSchema = z
  .string()
  .min(1)
  .max(1024)
  .transform((p, ctx) => {
    const normalized = normalizeWorkspacePath(p);
    if (normalized === null || normalized === "") {
      ctx.addIssue({ code: "custom", message: `"${p}" is not a safe workspace path` });
      return z.NEVER;
    }
    return normalized;
  });

/**
 * Normalizes a client path to workspace-relative form, or null when it is unsafe.
 * Accepts `a/b`, `/a/b` and `/workspace/a/b` (the workspace is `/` and `/workspace` in the guest);
 * rejects `..`, `.`, empty segments after the first, NUL and backslashes.
 * Returns "" for the workspace root itself.
 */
export function normalizeWorkspacePath(path: string): string | null {
  if (path.includes("\0") || path.includes("\\")) return null;
  let p = path;
  if (p === "/workspace" || p.startsWith("/workspace/")) p = p.slice("/workspace".length);
  p = p.replace(/^\/+/, "").replace(/\/+$/, "");
  if (p === "") return "";
  const segments = p.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) return null;
  return segments.join("/");
}

export const FileEntrySchema = z.object({
  path: z.string(),
  name: z.string(),
  type: z.enum(["file", "directory", "symlink", "other"]),
  size: z.number().int().nonnegative(),
  modified_at: z.string(),
});
export type FileEntry = z.infer<typeof FileEntrySchema>;

export const FileListSchema = z.object({ path: z.string(), entries: z.array(FileEntrySchema) });
export type FileList = z.infer<typeof FileListSchema>;

export const FileWrittenSchema = z.object({ path: z.string(), size: z.number().int().nonnegative() });
export type FileWritten = z.infer<typeof FileWrittenSchema>;

/** A percent-encoded path from a URL (or query), decoded and checked: INVALID_PATH names what is wrong. */
export function decodeWorkspacePath(encoded: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    throw new AppError(ErrorCode.INVALID_PATH, "the file path is not valid percent-encoding");
  }
  const rel = normalizeWorkspacePath(decoded);
  if (rel === null) {
    throw new AppError(ErrorCode.INVALID_PATH, `"${decoded}" is not a path inside the workspace (no "..", NUL or backslash)`);
  }
  return rel;
}
