import { z } from "zod";
import { type EgressSecret, EgressSecretSchema } from "./egress.ts";

/**
 * A thread's egress secrets, sealed: AES-256-GCM under a key derived (HKDF-SHA256) from the deployment's HMAC secret,
 * the thread (`tenant/thread`) as additional data, so a sealed blob opens for its own thread only. The worker keeps
 * the sealed form in the thread's Durable Object (never the values in the clear) and sends it as it is, in
 * EGRESS_SECRETS_HEADER, with the thread's calls to its runtime, which opens it and keeps the values in memory for
 * the thread's egress proxy. Web Crypto only: the worker and the runtime run the same code.
 */
export const EGRESS_SECRETS_HEADER = "x-threadbox-egress-secrets";

const INFO = new TextEncoder().encode("threadbox egress secrets v1");
const SALT = new TextEncoder().encode("threadbox");

async function sealKey(secret: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: SALT, info: INFO }, base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

function toBase64Url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const bin = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** `v1.` + base64url(12-byte IV ‖ ciphertext ‖ tag). */
export async function sealSecrets(secret: string, threadKey: string, secrets: readonly EgressSecret[]): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new TextEncoder().encode(JSON.stringify(secrets));
  const aad = new TextEncoder().encode(threadKey);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, await sealKey(secret), data));
  const out = new Uint8Array(iv.length + ct.length);
  out.set(iv);
  out.set(ct, iv.length);
  return `v1.${toBase64Url(out)}`;
}

/** The secrets of a sealed blob; null when it is not one sealed for this thread under this secret. */
export async function openSecrets(secret: string, threadKey: string, sealed: string): Promise<EgressSecret[] | null> {
  const bytes = sealed.startsWith("v1.") ? fromBase64Url(sealed.slice(3)) : null;
  if (!bytes || bytes.length < 12 + 16) return null;
  try {
    const aad = new TextEncoder().encode(threadKey);
    const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: aad }, await sealKey(secret), bytes.slice(12));
    const parsed = z.array(EgressSecretSchema).safeParse(JSON.parse(new TextDecoder().decode(pt)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
