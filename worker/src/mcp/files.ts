import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import {
  AppError,
  ErrorCode,
  type FileList,
  type FileWritten,
  decodeWorkspacePath,
  runtimePaths,
} from "../../../shared/src/index.ts";
import { type ThreadTarget } from "../http/context.ts";
import { callRuntime } from "../http/forward.ts";
import { clip } from "./results.ts";

/** The workspace's files, through the thread's runtime exactly as routes/files.ts reaches them (callRuntime). */

/** A file read for the model is held in memory: bigger ones are for the HTTP API (`GET …/files/<path>`). */
export const MAX_READ_BYTES = 8 * 1024 * 1024;
/** A text file's characters shown to the model (its start and its end). */
const MAX_FILE_CHARS = 50_000;

export async function writeFile(env: Env, target: ThreadTarget, path: string, body: Uint8Array): Promise<FileWritten> {
  const res = await callRuntime(env, target, { method: "PUT", path: runtimePaths.files(target.ref, path), body });
  return res.json<FileWritten>();
}

export async function listFiles(env: Env, target: ThreadTarget, path: string | undefined, recursive: boolean): Promise<FileList> {
  const query = new URLSearchParams({ path: decodeWorkspacePath(encodeURIComponent(path ?? "")) });
  if (recursive) query.set("recursive", "1");
  const res = await callRuntime(env, target, { method: "GET", path: `${runtimePaths.files(target.ref)}?${query}` });
  return res.json<FileList>();
}

export async function readFile(env: Env, target: ThreadTarget, path: string): Promise<{ bytes: Uint8Array; type: string | null }> {
  const res = await callRuntime(env, target, { method: "GET", path: runtimePaths.files(target.ref, path) });
  const tooBig = () =>
    new AppError(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `${path} is larger than ${MAX_READ_BYTES} bytes: read part of it (exec: head -c, sed -n) or fetch it with GET /v1/threads/${target.ref.thread}/files/${path}`,
    );
  if (Number(res.headers.get("content-length") ?? 0) > MAX_READ_BYTES) {
    await res.body?.cancel();
    throw tooBig();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? new ReadableStream<Uint8Array>()) {
    size += chunk.byteLength;
    if (size > MAX_READ_BYTES) throw tooBig();
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return { bytes, type: res.headers.get("content-type") };
}

/** PNG, JPEG, GIF and WebP by their first bytes (the name may lie; the bytes are what the model will see). */
function imageType(b: Uint8Array): string | null {
  const starts = (...sig: number[]) => sig.every((v, i) => b[i] === v);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x47, 0x49, 0x46, 0x38)) return "image/gif";
  if (starts(0x52, 0x49, 0x46, 0x46) && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return "image/webp";
  return null;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Where a file is, as an embedded resource names it. */
export const fileUri = (thread: string, path: string): string =>
  `threadbox://threads/${encodeURIComponent(thread)}/files/${path.split("/").map(encodeURIComponent).join("/")}`;

/** A file for the model: an image as image content, UTF-8 text as text, any other bytes as an embedded resource. */
export function fileContent(thread: string, path: string, bytes: Uint8Array, type: string | null): CallToolResult {
  const image = imageType(bytes);
  if (image) return { content: [{ type: "text", text: `${path} (${image}, ${bytes.length} bytes)` }, { type: "image", data: toBase64(bytes), mimeType: image }] };
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    if (!text.includes("\0")) return { content: [{ type: "text", text: text === "" ? `${path} is empty` : clip(text, MAX_FILE_CHARS, "read a range with exec (sed -n '100,200p', head, tail)") }] };
  } catch {
    // Not UTF-8: bytes, below.
  }
  const mimeType = type && !type.startsWith("text/") ? type : "application/octet-stream";
  return {
    content: [
      { type: "text", text: `${path} is a binary file of ${bytes.length} bytes (attached as a resource)` },
      { type: "resource", resource: { uri: fileUri(thread, path), mimeType, blob: toBase64(bytes) } },
    ],
  };
}
