import {
  EXECUTION_ID_HEADER,
  NONCE_HEADER,
  RUNTIME_HEADER,
  SIGNATURE_HEADER,
  SIGNATURE_WINDOW_SECONDS,
  TIMESTAMP_HEADER,
} from "./runtime-api.ts";

/**
 * Signs worker→runtime requests with HMAC-SHA256 over
 *   METHOD \n path?query \n timestamp \n nonce \n execution id \n runtime \n hex(sha256(body))
 * ("" for an absent execution id or runtime header). The nonce is fresh per request, so the runtime can refuse a
 * second use of it (its replay cache); the execution id header is signed because the runtime names and cancels
 * executions by it, the runtime header so a request is good only at the runtime it was meant for. Web Crypto only, so the worker (workerd)
 * and the runtime (Node) run the same code.
 */
type Body = Uint8Array | string;

export type VerifyResult =
  | { ok: true; nonce: string; timestamp: number; runtime: string }
  | { ok: false; reason: "missing" | "malformed" | "expired" | "mismatch" };

const encoder = new TextEncoder();
const SIGNATURE_PATTERN = /^v3=([0-9a-fA-F]{64})$/;
// Digits only: Number() would also accept "1e9", " 12" or "0x10", which the signer never sends.
const TIMESTAMP_PATTERN = /^\d{1,15}$/;
// 128 random bits, lowercase hex: one spelling per nonce, so the replay cache cannot be dodged by re-casing.
const NONCE_PATTERN = /^[0-9a-f]{32}$/;
const NONCE_BYTES = 16;

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

function toHex(bytes: ArrayBuffer | Uint8Array): string {
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

type Signed = { method: string; path: string; timestamp: string; nonce: string; executionId: string; runtime: string; body?: Body };

async function canonical(r: Signed): Promise<Uint8Array<ArrayBuffer>> {
  const bodyHash = await sha256Hex(r.body ?? "");
  return encoder.encode([r.method.toUpperCase(), r.path, r.timestamp, r.nonce, r.executionId, r.runtime, bodyHash].join("\n"));
}

/** A header among those the caller will send (any spelling of the name), or "". */
function headerOf(headers: Record<string, string> | undefined, wanted: string): string {
  const entry = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === wanted);
  return entry?.[1] ?? "";
}

/**
 * Returns the timestamp, nonce and signature headers. `path` is the path with query string, exactly as sent;
 * `headers` are the other headers the request will carry (the signed execution id and runtime are taken from them).
 * Sign each request anew: the runtime accepts a nonce once. `timestamp` and `nonce` are for tests.
 */
export async function signRequest(
  secret: string,
  req: { method: string; path: string; body?: Body; headers?: Record<string, string>; timestamp?: number; nonce?: string },
): Promise<Record<string, string>> {
  const timestamp = req.timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new Error(`Signature timestamp must be whole unix seconds, got ${timestamp}`);
  }
  const nonce = req.nonce ?? toHex(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));
  if (!NONCE_PATTERN.test(nonce)) throw new Error(`Signature nonce must be ${NONCE_BYTES * 2} lowercase hex digits`);
  const key = await importKey(secret);
  const message = await canonical({
    ...req,
    timestamp: String(timestamp),
    nonce,
    executionId: headerOf(req.headers, EXECUTION_ID_HEADER),
    runtime: headerOf(req.headers, RUNTIME_HEADER),
  });
  const mac = await crypto.subtle.sign("HMAC", key, message);
  return { [TIMESTAMP_HEADER]: String(timestamp), [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: `v3=${toHex(mac)}` };
}

/**
 * Checks a request's signature headers (read through `header`) against what arrived. Stateless: a valid result
 * carries the nonce and timestamp, and the caller must refuse a nonce it has already accepted (replay-cache.ts).
 */
export async function verifyRequest(
  secret: string,
  req: {
    method: string;
    path: string;
    body?: Body;
    header: (name: string) => string | null | undefined;
    now?: number;
    windowSeconds?: number;
  },
): Promise<VerifyResult> {
  const timestamp = req.header(TIMESTAMP_HEADER);
  const nonce = req.header(NONCE_HEADER);
  const signature = req.header(SIGNATURE_HEADER);
  if (!timestamp || !nonce || !signature) return { ok: false, reason: "missing" };
  const match = SIGNATURE_PATTERN.exec(signature);
  if (!TIMESTAMP_PATTERN.test(timestamp) || !NONCE_PATTERN.test(nonce) || !match?.[1]) {
    return { ok: false, reason: "malformed" };
  }

  const now = req.now ?? Math.floor(Date.now() / 1000);
  const window = req.windowSeconds ?? SIGNATURE_WINDOW_SECONDS;
  if (Math.abs(now - Number(timestamp)) > window) return { ok: false, reason: "expired" };

  const key = await importKey(secret);
  const executionId = req.header(EXECUTION_ID_HEADER) ?? "";
  const runtime = req.header(RUNTIME_HEADER) ?? "";
  const message = await canonical({ ...req, timestamp, nonce, executionId, runtime });
  // subtle.verify compares in constant time, so the response time does not leak matching prefixes.
  const valid = await crypto.subtle.verify("HMAC", key, fromHex(match[1]), message);
  return valid ? { ok: true, nonce, timestamp: Number(timestamp), runtime } : { ok: false, reason: "mismatch" };
}
