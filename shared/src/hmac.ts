import {
  CONTENT_SHA256_HEADER,
  EXECUTION_ID_HEADER,
  NONCE_HEADER,
  RUNTIME_HEADER,
  SIGNATURE_HEADER,
  SIGNATURE_WINDOW_SECONDS,
  TIMESTAMP_HEADER,
} from "./runtime-api.ts";

/**
 * Signs worker→runtime requests (signature v4) with HMAC-SHA256 over
 *   METHOD \n path?query \n timestamp \n nonce \n execution id \n runtime \n content sha256
 * ("" for an absent execution id or runtime header). The body is covered through its SHA-256, sent and signed as a
 * header: the runtime checks the signature from the headers alone, before it reads a byte of body, then hashes the
 * body as it streams in and refuses one that does not match (runtime-container/src/server/hmac-auth.ts). The nonce
 * is fresh per request, so the runtime can refuse a second use of it (its replay cache); the execution id header is
 * signed because the runtime names and cancels executions by it, the runtime header so a request is good only at
 * the runtime it was meant for. `path` is the request target as sent: build it with requestTarget(). Web Crypto
 * only, so the worker (workerd) and the runtime (Node) run the same code.
 */
type Body = Uint8Array | string;

export type VerifyResult =
  | { ok: true; nonce: string; timestamp: number; runtime: string; contentSha256: string }
  | { ok: false; reason: "missing" | "malformed" | "expired" | "mismatch" };

const encoder = new TextEncoder();
const SIGNATURE_PATTERN = /^v4=([0-9a-f]{64})$/;
// Digits only: Number() would also accept "1e9", " 12" or "0x10", which the signer never sends.
const TIMESTAMP_PATTERN = /^\d{1,15}$/;
// 128 random bits, lowercase hex: one spelling per nonce, so the replay cache cannot be dodged by re-casing.
const NONCE_PATTERN = /^[0-9a-f]{32}$/;
const NONCE_BYTES = 16;
/** Lowercase only, so a digest has one spelling and compares as a string. */
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

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

type Signed = { method: string; path: string; timestamp: string; nonce: string; executionId: string; runtime: string; contentSha256: string };

function canonical(r: Signed): Uint8Array<ArrayBuffer> {
  return encoder.encode([r.method.toUpperCase(), r.path, r.timestamp, r.nonce, r.executionId, r.runtime, r.contentSha256].join("\n"));
}

/** A header among those the caller will send (any spelling of the name), or "". */
function headerOf(headers: Record<string, string> | undefined, wanted: string): string {
  const entry = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === wanted);
  return entry?.[1] ?? "";
}

/**
 * Returns the timestamp, nonce, content digest and signature headers. `path` is the request target exactly as sent
 * (requestTarget()); `headers` are the other headers the request will carry (the signed execution id and runtime are
 * taken from them). The body's digest is computed here, or passed as `contentSha256` by a caller that streams it.
 * Sign each request anew: the runtime accepts a nonce once. `timestamp` and `nonce` are for tests.
 */
export async function signRequest(
  secret: string,
  req: {
    method: string;
    path: string;
    body?: Body;
    contentSha256?: string;
    headers?: Record<string, string>;
    timestamp?: number;
    nonce?: string;
  },
): Promise<Record<string, string>> {
  const timestamp = req.timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new Error(`Signature timestamp must be whole unix seconds, got ${timestamp}`);
  }
  const nonce = req.nonce ?? toHex(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));
  if (!NONCE_PATTERN.test(nonce)) throw new Error(`Signature nonce must be ${NONCE_BYTES * 2} lowercase hex digits`);
  if (req.contentSha256 !== undefined && req.body !== undefined) throw new Error("pass the body or its digest, not both");
  const contentSha256 = req.contentSha256 ?? (await sha256Hex(req.body ?? ""));
  if (!SHA256_HEX_PATTERN.test(contentSha256)) throw new Error("the content digest must be 64 lowercase hex digits");
  const key = await importKey(secret);
  const message = canonical({
    method: req.method,
    path: req.path,
    timestamp: String(timestamp),
    nonce,
    executionId: headerOf(req.headers, EXECUTION_ID_HEADER),
    runtime: headerOf(req.headers, RUNTIME_HEADER),
    contentSha256,
  });
  const mac = await crypto.subtle.sign("HMAC", key, message);
  return {
    [TIMESTAMP_HEADER]: String(timestamp),
    [NONCE_HEADER]: nonce,
    [CONTENT_SHA256_HEADER]: contentSha256,
    [SIGNATURE_HEADER]: `v4=${toHex(mac)}`,
  };
}

/**
 * Checks a request's signature from its headers alone (read through `header`): no body is needed, so a request
 * that is not signed is refused before its body is read. A valid result carries the nonce, timestamp, runtime and
 * the signed body digest; the caller must refuse a nonce it has already accepted (replay-cache.ts) and a body whose
 * SHA-256 is not `contentSha256`.
 */
export async function verifyRequest(
  secret: string,
  req: {
    method: string;
    path: string;
    header: (name: string) => string | null | undefined;
    now?: number;
    windowSeconds?: number;
  },
): Promise<VerifyResult> {
  const timestamp = req.header(TIMESTAMP_HEADER);
  const nonce = req.header(NONCE_HEADER);
  const signature = req.header(SIGNATURE_HEADER);
  const contentSha256 = req.header(CONTENT_SHA256_HEADER);
  if (!timestamp || !nonce || !signature || !contentSha256) return { ok: false, reason: "missing" };
  const match = SIGNATURE_PATTERN.exec(signature);
  if (!TIMESTAMP_PATTERN.test(timestamp) || !NONCE_PATTERN.test(nonce) || !SHA256_HEX_PATTERN.test(contentSha256) || !match?.[1]) {
    return { ok: false, reason: "malformed" };
  }

  const now = req.now ?? Math.floor(Date.now() / 1000);
  const window = req.windowSeconds ?? SIGNATURE_WINDOW_SECONDS;
  if (Math.abs(now - Number(timestamp)) > window) return { ok: false, reason: "expired" };

  const key = await importKey(secret);
  const executionId = req.header(EXECUTION_ID_HEADER) ?? "";
  const runtime = req.header(RUNTIME_HEADER) ?? "";
  const message = canonical({ method: req.method, path: req.path, timestamp, nonce, executionId, runtime, contentSha256 });
  // subtle.verify compares in constant time, so the response time does not leak matching prefixes.
  const valid = await crypto.subtle.verify("HMAC", key, fromHex(match[1]), message);
  return valid ? { ok: true, nonce, timestamp: Number(timestamp), runtime, contentSha256 } : { ok: false, reason: "mismatch" };
}
