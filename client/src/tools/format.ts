import type { CellResult, DisplayOutput, ExecResult, FileList, InstallResult, RunPythonResponse } from "../../../shared/src/index.ts";

/** An image for the model: base64 data and its media type. */
export interface ToolImage {
  mediaType: string;
  data: string;
}

/**
 * What a tool call gives back to the model: text, images (figures, screenshots, image files) and whether it failed.
 * Plain JSON, so it can be stored in a chat history and sent to any provider (see providers.ts).
 */
export interface ToolOutput {
  text: string;
  images: ToolImage[];
  isError: boolean;
}

/** Each stream section is kept to this many characters (its start and end) so one run cannot flood the context. */
export const MAX_SECTION_CHARS = 20_000;

export function clip(text: string, max = MAX_SECTION_CHARS): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n[… ${text.length - max} characters omitted …]\n${text.slice(-half)}`;
}

const section = (name: string, text: string) => (text === "" ? [] : [`${name}:\n${clip(text.replace(/\n$/, ""))}`]);

export function imagesOf(displays: DisplayOutput[] | undefined): ToolImage[] {
  return (displays ?? []).filter((d) => d.mime.startsWith("image/")).map((d) => ({ mediaType: d.mime, data: d.data }));
}

/** What capture_screenshot reports instead of a picture (a window not on the screen), for the model to read. */
export const screenshotNotes = (displays: DisplayOutput[] | undefined): string[] =>
  (displays ?? []).filter((d) => d.source === "screenshot" && d.mime === "text/plain").map((d) => d.data);

export function fromExec(r: ExecResult): ToolOutput {
  const status = [`exit_code: ${r.exit_code}`];
  if (r.signal) status.push(`signal: ${r.signal}`);
  if (r.timed_out) status.push("timed out");
  if (r.canceled) status.push("cancelled");
  if (r.truncated) status.push("output truncated at the output cap");
  const text = [status.join(", "), ...section("stdout", r.stdout), ...section("stderr", r.stderr), ...screenshotNotes(r.displays)].join("\n");
  return { text, images: imagesOf(r.displays), isError: r.exit_code !== 0 || r.timed_out };
}

export function fromRunPython(r: RunPythonResponse): ToolOutput {
  const m = r.metadata;
  const parts = [clip(r.text) || "(no output)"];
  // On failure `text` is the error; the program's own output and the traceback help the model fix it.
  if (r.is_error) parts.push(...section("stdout", m.stdout), ...section("stderr", m.stderr));
  if (m.packages_installed.length > 0) parts.push(`installed: ${m.packages_installed.join(", ")}`);
  if (m.files_created.length > 0) parts.push(`files created or changed: ${m.files_created.slice(0, 50).join(", ")}`);
  parts.push(...screenshotNotes(r.displays));
  return { text: parts.join("\n"), images: imagesOf(r.displays), isError: r.is_error };
}

export function fromCell(r: CellResult & { displays?: DisplayOutput[] }): ToolOutput {
  const parts = [...section("stdout", r.stdout), ...section("stderr", r.stderr)];
  const images = imagesOf(r.displays);
  if (r.error) parts.push(`${r.error.type}: ${r.error.value}${r.error.line ? ` (line ${r.error.line})` : ""}`, clip(r.error.traceback));
  if (r.result) {
    const png = r.result["image/png"];
    if (png) images.push({ mediaType: "image/png", data: png });
    if (r.result["text/plain"] !== undefined) parts.push(`result: ${clip(r.result["text/plain"])}`);
  }
  if (r.timed_out) parts.push("the cell timed out");
  if (r.state === "restarted") parts.push("the interpreter was restarted: earlier variables are gone");
  return { text: parts.join("\n") || "(no output)", images, isError: !r.ok };
}

export function fromInstall(r: InstallResult): ToolOutput {
  return r.ok
    ? { text: `installed: ${r.installed.join(", ")}`, images: [], isError: false }
    : { text: `installation failed: ${clip(r.message)}`, images: [], isError: true };
}

export function fromList(list: FileList): ToolOutput {
  const lines = list.entries.map((e) => `${e.type === "directory" ? "dir " : "file"} ${e.path}${e.type === "file" ? ` (${e.size} bytes)` : ""}`);
  return { text: lines.length === 0 ? `${list.path || "/"} is empty` : clip(lines.join("\n")), images: [], isError: false };
}

const IMAGE_TYPES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp" };

/** A file for the model: an image as an image, UTF-8 text as text, anything else described by its size. */
export function fromFile(path: string, bytes: Uint8Array): ToolOutput {
  const mediaType = IMAGE_TYPES[path.split(".").pop()?.toLowerCase() ?? ""];
  if (mediaType) return { text: `${path} (${bytes.length} bytes)`, images: [{ mediaType, data: toBase64(bytes) }], isError: false };
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    if (!text.includes("\0")) return { text: clip(text), images: [], isError: false };
  } catch {
    // not UTF-8: described below
  }
  return { text: `${path} is a binary file of ${bytes.length} bytes`, images: [], isError: false };
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
