import { z } from "zod";
import { type ThreadRef, threadRef } from "../../../shared/src/index.ts";
import { base64urlDecode, base64urlEncode } from "../auth/base64url.ts";

/**
 * A preview URL's capability: which thread (tenant, id, incarnation), which port, until when, and the grant's nonce
 * (the thread's object keeps the active ones: revoking a port forgets its nonce), HMAC-SHA256-signed with
 * TOKEN_SECRET under its own label (no JWT's signed input starts with it). It grants requests to that one port of
 * that one thread and nothing else: no API key, no token, no other route.
 */
const LABEL = "threadbox-preview-v1\n";

const ClaimsSchema = z.strictObject({
  tenant: z.string(),
  thread: z.string(),
  inc: z.string().max(200),
  port: z.number().int().min(1).max(65535),
  exp: z.number().int().positive(),
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
});
export type PreviewClaims = z.infer<typeof ClaimsSchema>;

const encoder = new TextEncoder();

function key(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

export async function mintCapability(secret: string, claims: PreviewClaims): Promise<string> {
  const payload = base64urlEncode(JSON.stringify(claims));
  const mac = await crypto.subtle.sign("HMAC", await key(secret, "sign"), encoder.encode(LABEL + payload));
  return `${payload}.${base64urlEncode(new Uint8Array(mac))}`;
}

/** The claims and thread of a genuine, unexpired capability; null for anything else (forged, altered, expired). */
export async function verifyCapability(secret: string, capability: string, nowS: number): Promise<{ claims: PreviewClaims; ref: ThreadRef } | null> {
  const [payload, mac, extra] = capability.split(".");
  if (!payload || !mac || extra !== undefined || payload.length > 2000) return null;
  const sig = base64urlDecode(mac);
  const body = base64urlDecode(payload);
  if (!sig || !body) return null;
  // crypto.subtle.verify compares in constant time.
  if (!(await crypto.subtle.verify("HMAC", await key(secret, "verify"), sig, encoder.encode(LABEL + payload)))) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return null;
  }
  const claims = ClaimsSchema.safeParse(parsed);
  if (!claims.success || claims.data.exp <= nowS) return null;
  try {
    return { claims: claims.data, ref: threadRef(claims.data.tenant, claims.data.thread) };
  } catch {
    return null;
  }
}
