import { describe, expect, it } from "vitest";
import { base64urlEncode } from "../../worker/src/auth/base64url.ts";
import { mintToken, verifyToken } from "../../worker/src/auth/tokens.ts";

const SECRET = "threadbox-known-answer-secret-0123456789abcdef";
const NOW = 1_700_000_000;
const encoder = new TextEncoder();
/** What a token names besides tenant and thread (its thread's incarnation, generations, minting key, own id). */
const BINDING = {
  incarnation: "0123456789abcdef0123456789abcdef",
  generation: 0,
  tenantGeneration: 0,
  keyId: "06fdd8a971672508",
  tokenId: "fedcba9876543210fedcba9876543210",
  canDelete: false,
};
const BOUND_CLAIMS = { inc: BINDING.incarnation, gen: 0, tgen: 0, kid: BINDING.keyId, jti: BINDING.tokenId };
const mint = (secret: string, opts: { tenant: string; thread: string; ttlSeconds: number; now?: number }) =>
  mintToken(secret, { ...BINDING, ...opts });

function segment(value: unknown): string {
  return base64urlEncode(JSON.stringify(value));
}

/** HMAC-SHA256 computed here, apart from the code under test. */
async function hs256(secret: string, input: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return base64urlEncode(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(input))));
}

function claims(overrides: Record<string, unknown> = {}) {
  return { iss: "threadbox", sub: "acme", thread: "thread-1", scope: "thread", ...BOUND_CLAIMS, iat: NOW, exp: NOW + 900, ...overrides };
}

/** A token with any header and claims, correctly HS256-signed with `secret`. */
async function craft(header: unknown, payload: unknown, secret = SECRET): Promise<string> {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${await hs256(secret, input)}`;
}

describe("mintToken / verifyToken", () => {
  it("matches a known answer computed with Node's crypto.createHmac", async () => {
    // node -e: base64url(header) + "." + base64url(claims), HMAC-SHA256 with SECRET, base64url digest.
    const expected = [
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
      "eyJpc3MiOiJ0aHJlYWRib3giLCJzdWIiOiJhY21lIiwidGhyZWFkIjoidGhyZWFkLTEiLCJzY29wZSI6InRocmVhZCIsImluYyI6IjAxMjM0" +
        "NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwiZ2VuIjowLCJ0Z2VuIjowLCJraWQiOiIwNmZkZDhhOTcxNjcyNTA4IiwianRpIjoiZmVk" +
        "Y2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTAiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDkwMH0",
      "dwy6FVgd60HFUfdc602NtEIZ2p8Pd7vSwLcgraNXWBc",
    ].join(".");
    const minted = await mint(SECRET, { tenant: "acme", thread: "thread-1", ttlSeconds: 900, now: NOW });
    expect(minted).toEqual({ token: expected, expires_at: "2023-11-14T22:28:20.000Z", token_id: BINDING.tokenId });
    expect(minted.token).toBe(await craft({ alg: "HS256", typ: "JWT" }, claims()));
  });

  it("round-trips tenant, thread and what binds it until expiry", async () => {
    const { token } = await mint(SECRET, { tenant: "beta", thread: "t_2", ttlSeconds: 60, now: NOW });
    const all = { ...BINDING, tenant: "beta", thread: "t_2" };
    expect(await verifyToken(SECRET, token, NOW)).toEqual(all);
    expect(await verifyToken(SECRET, token, NOW + 59)).toEqual(all);
    const deleting = await mintToken(SECRET, { ...BINDING, tenant: "beta", thread: "t_2", ttlSeconds: 60, now: NOW, canDelete: true });
    expect(await verifyToken(SECRET, deleting.token, NOW)).toEqual({ ...all, canDelete: true });
    expect(await verifyToken(SECRET, token, NOW + 60)).toBeNull();
  });

  it("accepts small clock skew but not a token issued in the future", async () => {
    const ahead = await craft({ alg: "HS256", typ: "JWT" }, claims({ iat: NOW + 60, exp: NOW + 960 }));
    expect(await verifyToken(SECRET, ahead, NOW)).not.toBeNull();
    const future = await craft({ alg: "HS256", typ: "JWT" }, claims({ iat: NOW + 61, exp: NOW + 961 }));
    expect(await verifyToken(SECRET, future, NOW)).toBeNull();
  });

  it("rejects a signature made with another secret", async () => {
    const opts = { tenant: "acme", thread: "thread-1", ttlSeconds: 900, now: NOW };
    const { token } = await mint(`${SECRET}-other`, opts);
    expect(await verifyToken(SECRET, token, NOW)).toBeNull();
  });

  it("pins the algorithm: none, HS512 and RS256 headers fail even with an HS256 signature", async () => {
    const none = `${segment({ alg: "none", typ: "JWT" })}.${segment(claims())}.`;
    expect(await verifyToken(SECRET, none, NOW)).toBeNull();
    expect(await verifyToken(SECRET, `${segment({ alg: "none" })}.${segment(claims())}.`, NOW)).toBeNull();
    for (const alg of ["HS512", "RS256", "hs256", "HS256 "]) {
      expect(await verifyToken(SECRET, await craft({ alg, typ: "JWT" }, claims()), NOW)).toBeNull();
    }
    // Control: the same crafting with HS256 verifies, so the failures above are the header's doing.
    expect(await verifyToken(SECRET, await craft({ alg: "HS256", typ: "JWT" }, claims()), NOW)).not.toBeNull();
  });

  it("rejects a tampered payload", async () => {
    const { token } = await mint(SECRET, { tenant: "acme", thread: "thread-1", ttlSeconds: 900, now: NOW });
    const [header, , signature] = token.split(".");
    const tampered = `${header}.${segment(claims({ thread: "thread-2" }))}.${signature}`;
    expect(await verifyToken(SECRET, tampered, NOW)).toBeNull();
  });

  it("requires every claim with a valid value, even when correctly signed", async () => {
    const header = { alg: "HS256", typ: "JWT" };
    const { iss: _iss, ...noIssuer } = claims();
    for (const payload of [
      noIssuer,
      claims({ iss: "elsewhere" }),
      claims({ scope: "tenant" }),
      claims({ sub: "../acme" }),
      claims({ thread: "a/b" }),
      claims({ exp: String(NOW + 900) }),
      // Unbound: no incarnation, generation or key (a token minted before tokens were bound), or a malformed one.
      claims({ inc: undefined }),
      claims({ gen: undefined }),
      claims({ tgen: -1 }),
      claims({ kid: "not-hex" }),
      claims({ jti: undefined }),
      claims({ del: false }),
      "not an object",
    ]) {
      expect(await verifyToken(SECRET, await craft(header, payload), NOW)).toBeNull();
    }
  });

  it("rejects malformed tokens without throwing", async () => {
    const good = (await mint(SECRET, { tenant: "acme", thread: "thread-1", ttlSeconds: 900, now: NOW })).token;
    const [h = "", p = "", s = ""] = good.split(".");
    // 32 bytes take 43 characters; the last one's two low bits are padding, so this spells the same bytes.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const flipped = s.slice(0, -1) + alphabet[alphabet.indexOf(s.slice(-1)) + 1];
    const malformed = ["", "a.b", `${h}.${p}`, `${good}.x`, `${h}.${p}.${s}=`, `${h}.${p}.${flipped}`, `%%.${p}.${s}`];
    for (const bad of malformed) {
      expect(await verifyToken(SECRET, bad, NOW)).toBeNull();
    }
    expect(await verifyToken(SECRET, `${base64urlEncode("{not json")}.${p}.${s}`, NOW)).toBeNull();
  });

  it("refuses a TOKEN_SECRET shorter than 32 characters", async () => {
    await expect(mint("short", { tenant: "acme", thread: "t", ttlSeconds: 60 })).rejects.toMatchObject({
      code: "INTERNAL_ERROR",
      message: expect.stringContaining("TOKEN_SECRET"),
    });
    await expect(verifyToken("x".repeat(31), "a.b.c")).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
  });
});
