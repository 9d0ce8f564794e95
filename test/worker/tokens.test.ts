import { describe, expect, it } from "vitest";
import { base64urlEncode } from "../../worker/src/auth/base64url.ts";
import { mintToken, verifyToken } from "../../worker/src/auth/tokens.ts";

const SECRET = "threadbox-known-answer-secret-0123456789abcdef";
const NOW = 1_700_000_000;
const encoder = new TextEncoder();

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
  return { iss: "threadbox", sub: "acme", thread: "thread-1", scope: "thread", iat: NOW, exp: NOW + 900, ...overrides };
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
      "eyJpc3MiOiJ0aHJlYWRib3giLCJzdWIiOiJhY21lIiwidGhyZWFkIjoidGhyZWFkLTEiLCJzY29wZSI6InRocmVhZCIsImlh" +
        "dCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwOTAwfQ",
      "2YlD2Uuc2TQBM3yKNWJ4M9f7ta4_iTZDvLyVGLFHGzE",
    ].join(".");
    const minted = await mintToken(SECRET, { tenant: "acme", thread: "thread-1", ttlSeconds: 900, now: NOW });
    expect(minted).toEqual({ token: expected, expires_at: "2023-11-14T22:28:20.000Z" });
    expect(minted.token).toBe(await craft({ alg: "HS256", typ: "JWT" }, claims()));
  });

  it("round-trips tenant and thread until expiry", async () => {
    const { token } = await mintToken(SECRET, { tenant: "beta", thread: "t_2", ttlSeconds: 60, now: NOW });
    expect(await verifyToken(SECRET, token, NOW)).toEqual({ tenant: "beta", thread: "t_2" });
    expect(await verifyToken(SECRET, token, NOW + 59)).toEqual({ tenant: "beta", thread: "t_2" });
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
    const { token } = await mintToken(`${SECRET}-other`, opts);
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
    const { token } = await mintToken(SECRET, { tenant: "acme", thread: "thread-1", ttlSeconds: 900, now: NOW });
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
      "not an object",
    ]) {
      expect(await verifyToken(SECRET, await craft(header, payload), NOW)).toBeNull();
    }
  });

  it("rejects malformed tokens without throwing", async () => {
    const good = (await mintToken(SECRET, { tenant: "acme", thread: "thread-1", ttlSeconds: 900, now: NOW })).token;
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
    await expect(mintToken("short", { tenant: "acme", thread: "t", ttlSeconds: 60 })).rejects.toMatchObject({
      code: "INTERNAL_ERROR",
      message: expect.stringContaining("TOKEN_SECRET"),
    });
    await expect(verifyToken("x".repeat(31), "a.b.c")).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
  });
});
