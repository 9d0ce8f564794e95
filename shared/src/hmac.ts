import { SIGNATURE_HEADER, SIGNATURE_WINDOW_SECONDS, TIMESTAMP_HEADER } from "./runtime-api.ts";

/**
 * Signs worker→runtime requests with HMAC-SHA256 over method, path with query, timestamp and body hash.
 * Web Crypto only, so the worker (workerd) and the runtime (Node) run the same code.
 */
type Body = Uint8Array | string;

export type VerifyResult = { ok: true } | { ok: false; reason: "missing" | "malformed" | "expired" | "mismatch" };

const encoder = new TextEncoder();
const SIGNATURE_PATTERN = /^v1=([0-9a-fA-F]{64})$/;
// Digits only: Number() would also accept "1e9", " 12" or "0x10", which the signer never sends.
const TIMESTAMP_PATTERN = /^\d{1,15}$/;

// A process sees one or two secrets (current and rotating), so a tiny cache avoids re-importing per request.
const MAX_CACHED_KEYS = 4;
const keys = new Map<string, Promise<CryptoKey>>();

function importKey(secret: string): Promise<CryptoKey> {
  const cached = keys.get(secret);
  if (cached) return cached;
  // Web Crypto rejects zero-length HMAC keys with an obscure error; this is a configuration bug, say so.
  if (secret === "") throw new Error("HMAC secret must not be empty");
  const key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  key.catch(() => keys.delete(secret));
  if (keys.size >= MAX_CACHED_KEYS) {
    const oldest = keys.keys().next();
    if (!oldest.done) keys.delete(oldest.value);
  }
  keys.set(secret, key);
  return key;
}

function toBytes(body: Body | undefined): Uint8Array<ArrayBuffer> {
  if (body === undefined) return new Uint8Array(0);
  if (typeof body === "string") return encoder.encode(body);
  // Web Crypto's types refuse views of a SharedArrayBuffer; copy only in that rare case.
  return body.buffer instanceof ArrayBuffer ? (body as Uint8Array<ArrayBuffer>) : new Uint8Array(body);
}

function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export async function sha256Hex(data: Body): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", toBytes(data)));
}

async function canonical(method: string, path: string, timestamp: string, body: Body | undefined) {
  return encoder.encode(`${method.toUpperCase()}\n${path}\n${timestamp}\n${await sha256Hex(body ?? "")}`);
}

/** Returns the signature and timestamp headers. `path` is the path with query string, exactly as sent. */
export async function signRequest(
  secret: string,
  req: { method: string; path: string; body?: Body; timestamp?: number },
): Promise<Record<string, string>> {
  const timestamp = req.timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new Error(`Signature timestamp must be whole unix seconds, got ${timestamp}`);
  }
  const key = await importKey(secret);
  const message = await canonical(req.method, req.path, String(timestamp), req.body);
  const mac = await crypto.subtle.sign("HMAC", key, message);
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: `v1=${toHex(mac)}` };
}

export async function verifyRequest(
  secret: string,
  req: {
    method: string;
    path: string;
    body?: Body;
    timestamp: string | null | undefined;
    signature: string | null | undefined;
    now?: number;
    windowSeconds?: number;
  },
): Promise<VerifyResult> {
  if (!req.timestamp || !req.signature) return { ok: false, reason: "missing" };
  const match = SIGNATURE_PATTERN.exec(req.signature);
  if (!TIMESTAMP_PATTERN.test(req.timestamp) || !match?.[1]) return { ok: false, reason: "malformed" };

  const now = req.now ?? Math.floor(Date.now() / 1000);
  const window = req.windowSeconds ?? SIGNATURE_WINDOW_SECONDS;
  if (Math.abs(now - Number(req.timestamp)) > window) return { ok: false, reason: "expired" };

  const key = await importKey(secret);
  const message = await canonical(req.method, req.path, req.timestamp, req.body);
  // subtle.verify compares in constant time, so the response time does not leak matching prefixes.
  const valid = await crypto.subtle.verify("HMAC", key, fromHex(match[1]), message);
  return valid ? { ok: true } : { ok: false, reason: "mismatch" };
}
