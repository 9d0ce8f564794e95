import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import {
  type AppError,
  type CellResult,
  type DisplayOutput,
  type ExecResult,
  type InstallResult,
  type NotebookResult,
  type ResultPayload,
  type RunPythonResponse,
} from "../../../shared/src/index.ts";

/**
 * Results as an agent needs them: readable text (stdout, then stderr, each clipped with a note), every image as
 * image content, and `structuredContent` with the full result (images not repeated: see schemas.ts TOOL_OUTPUTS).
 * `isError` when the user's code failed, or the call did.
 */
type Content = CallToolResult["content"][number];

/** Each output section keeps this many characters (its start and its end) so one run cannot flood the context. */
export const MAX_SECTION_CHARS = 20_000;
/** Images past this many are left out (and counted in the text). */
export const MAX_IMAGES = 16;

/** `text`'s start and end when it is longer than `max`, with a note of what was left out and where it is. */
export function clip(text: string, max = MAX_SECTION_CHARS, whole = "the structured result has them all"): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n[… ${text.length - max} characters omitted; ${whole} …]\n${text.slice(-half)}`;
}

const section = (name: string, text: string): string[] => (text === "" ? [] : [`${name}:\n${clip(text.replace(/\n$/, ""))}`]);

/** Images as image content; every display (images without their data) for the structured result. */
function splitDisplays(displays: DisplayOutput[], extraPngs: string[] = []) {
  const pngs = [...displays.filter((d) => d.mime.startsWith("image/")).map((d) => ({ data: d.data, mimeType: d.mime })), ...extraPngs.map((data) => ({ data, mimeType: "image/png" }))];
  const images: Content[] = pngs.slice(0, MAX_IMAGES).map((p) => ({ type: "image", ...p }));
  const notes = pngs.length > MAX_IMAGES ? [`(${pngs.length - MAX_IMAGES} more images left out)`] : [];
  // What capture_screenshot reports instead of a picture (a window not on the screen): the model reads it.
  notes.push(...displays.filter((d) => d.source === "screenshot" && d.mime === "text/plain").map((d) => d.data));
  const refs = displays.map((d) => (d.mime.startsWith("image/") ? { mime: d.mime, source: d.source } : d));
  return { images, notes, refs: refs.length > 0 ? { displays: refs } : {} };
}

function result(text: string[], images: Content[], structured: object, isError: boolean): CallToolResult {
  const body = text.filter((t) => t !== "").join("\n") || "(no output)";
  return { content: [{ type: "text", text: body }, ...images], structuredContent: structured as Record<string, unknown>, isError };
}

function fromExec(r: ExecResult, displays: DisplayOutput[]): CallToolResult {
  const status = [`exit_code: ${r.exit_code}`];
  if (r.signal) status.push(`signal: ${r.signal}`);
  if (r.timed_out) status.push("timed out");
  if (r.canceled) status.push("cancelled");
  if (r.truncated) status.push("output truncated at the output cap");
  const { images, notes, refs } = splitDisplays(displays);
  const { displays: _, ...rest } = r;
  const text = [status.join(", "), ...section("stdout", r.stdout), ...section("stderr", r.stderr), ...notes];
  return result(text, images, { ...rest, ...refs }, r.exit_code !== 0 || r.timed_out || r.canceled);
}

function fromRunPython(r: RunPythonResponse, displays: DisplayOutput[]): CallToolResult {
  const m = r.metadata;
  const text = r.is_error ? [clip(r.text)] : [clip(r.text), ...section("stderr", m.stderr)];
  if (r.is_error) {
    const where = [m.error_type, m.error_line ? `line ${m.error_line}` : "", m.error_code].filter(Boolean).join(", ");
    if (where) text.push(`error: ${where}`);
    text.push(...section("stdout", m.stdout), ...section("stderr", m.stderr));
  }
  if (m.packages_installed.length > 0) text.push(`installed: ${m.packages_installed.join(", ")}`);
  if (m.files_created.length > 0) text.push(`files created or changed: ${m.files_created.slice(0, 50).join(", ")}`);
  const { images, notes, refs } = splitDisplays(displays);
  const { displays: _, ...rest } = r;
  return result([...text, ...notes], images, { ...rest, ...refs }, r.is_error);
}

function fromCell(r: CellResult, displays: DisplayOutput[]): CallToolResult {
  const text = [...section("stdout", r.stdout), ...section("stderr", r.stderr)];
  if (r.error) text.push(`${r.error.type}: ${r.error.value}${r.error.line ? ` (line ${r.error.line})` : ""}`, clip(r.error.traceback));
  // The last expression's PNG is an image like the cell's figures; its text form is the result.
  const { "image/png": png, ...value } = r.result ?? {};
  if (value["text/plain"] !== undefined) text.push(`result: ${clip(value["text/plain"])}`);
  if (r.timed_out) text.push("the cell timed out");
  if (r.state === "restarted") text.push("the interpreter was restarted: earlier variables are gone");
  const { images, notes, refs } = splitDisplays(displays, png ? [png] : []);
  const structured = { ...r, result: r.result === null ? null : value, ...refs };
  return result([...text, ...notes], images, structured, !r.ok);
}

function fromInstall(r: InstallResult): CallToolResult {
  const text = r.ok ? `installed: ${r.installed.join(", ")}` : `installation failed: ${clip(r.message)}`;
  return result([text], [], r, !r.ok);
}

function fromNotebook(r: NotebookResult): CallToolResult {
  const failed = r.cells.find((c) => c.error);
  const text = `${r.cells.length} cell(s) run, ${r.not_run} not run${failed?.error ? `; cell ${failed.index} failed: ${failed.error.type}: ${clip(failed.error.value)}` : ""}`;
  return result([text], [], r, !r.ok);
}

/** An execution's result event, with the displays its stream carried. */
export function executionResult(payload: ResultPayload, displays: DisplayOutput[]): CallToolResult {
  switch (payload.kind) {
    case "exec":
      return fromExec(payload.value, displays);
    case "run_python":
      return fromRunPython(payload.value, displays);
    case "cell":
      return fromCell(payload.value, displays);
    case "install":
      return fromInstall(payload.value);
    case "notebook":
      return fromNotebook(payload.value);
    case "checkpoint":
    case "restore":
      return structuredResult(`${payload.kind}: ${JSON.stringify(payload.value)}`, payload.value);
  }
}

/** A plain structured answer (a file written, a listing, a context, a thread) with a line of text for the model. */
export function structuredResult(text: string, value: object): CallToolResult {
  return result([text], [], value, false);
}

/**
 * A call that failed (the platform's error, or arguments the model can fix): a tool error the model sees, with the
 * API's error code, never a protocol error, so it can correct itself or tell the user.
 */
export function errorResult(err: AppError): CallToolResult {
  const retry = (err.details as { retry_after?: number } | undefined)?.retry_after;
  const text = `${err.code}: ${err.message}${retry ? ` (retry in ${retry} s)` : ""}`;
  return { content: [{ type: "text", text }], isError: true };
}
