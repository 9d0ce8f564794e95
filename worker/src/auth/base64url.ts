/**
 * Base64url without padding (RFC 7515 §2), strict: only the canonical encoding of some bytes decodes, so a
 * token has exactly one spelling and a flipped trailing bit cannot pass as the same signature.
 */
const ALPHABET = /^[A-Za-z0-9_-]*$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function base64urlEncode(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes, or null for anything that is not canonical unpadded base64url. */
export function base64urlDecode(text: string): Uint8Array<ArrayBuffer> | null {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return null;
  let binary: string;
  try {
    binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return base64urlEncode(bytes) === text ? bytes : null;
}

/** A JWT segment holding a JSON object, or undefined when it is not valid base64url, UTF-8 or JSON. */
export function decodeJsonSegment(text: string): unknown {
  const bytes = base64urlDecode(text);
  if (!bytes || bytes.length === 0) return undefined;
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}
