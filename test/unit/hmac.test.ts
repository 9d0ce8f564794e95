import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex, signRequest, verifyRequest } from "../../shared/src/hmac.ts";
import {
  CONTENT_SHA256_HEADER,
  EXECUTION_ID_HEADER,
  NONCE_HEADER,
  RUNTIME_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from "../../shared/src/runtime-api.ts";

const SECRET = "s3cret-for-tests";
const NOW = 1_700_000_000;
const NONCE = "0123456789abcdef0123456789abcdef";
const body = '{"cmd":"ls -la é"}';
const request = { method: "POST", path: "/threads/t1/th1/exec?stream=1", body };
/** What verifyRequest sees: the method, target and headers; never a body. */
const target = { method: request.method, path: request.path };
const BODY_SHA256 = createHash("sha256").update(body, "utf8").digest("hex");
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const fail = (reason: string) => ({ ok: false, reason });
const accepted = (nonce: string, timestamp = NOW, runtime = "", contentSha256 = BODY_SHA256) => ({
  ok: true,
  nonce,
  timestamp,
  runtime,
  contentSha256,
});
/** A header getter over plain headers, as verifyRequest reads them. */
const from = (headers: Record<string, string | undefined>) => (name: string) => headers[name];

async function signed(overrides: { timestamp?: number; secret?: string; headers?: Record<string, string> } = {}) {
  return signRequest(overrides.secret ?? SECRET, {
    ...request,
    headers: overrides.headers,
    timestamp: overrides.timestamp ?? NOW,
  });
}

function knownAnswer(lines: string[]): string {
  return `v4=${createHmac("sha256", SECRET).update(lines.join("\n"), "utf8").digest("hex")}`;
}

describe("sha256Hex", () => {
  it("matches node:crypto for strings, bytes and the empty body", async () => {
    const digest = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
    expect(await sha256Hex("")).toBe(EMPTY_SHA256);
    expect(await sha256Hex("héllo")).toBe(digest("héllo"));
    expect(await sha256Hex(Uint8Array.of(0, 255, 1))).toBe(digest(Uint8Array.of(0, 255, 1)));
  });
});

describe("signRequest", () => {
  const bodyHash = BODY_SHA256;

  it("signs the documented canonical string (known answer from node:crypto), the body through its digest header", async () => {
    const headers = await signRequest(SECRET, { ...request, method: "post", timestamp: NOW, nonce: NONCE });
    const signature = knownAnswer(["POST", request.path, String(NOW), NONCE, "", "", bodyHash]);
    expect(headers).toEqual({
      [TIMESTAMP_HEADER]: String(NOW),
      [NONCE_HEADER]: NONCE,
      [CONTENT_SHA256_HEADER]: bodyHash,
      [SIGNATURE_HEADER]: signature,
    });
    // A caller that streams its body passes the digest instead: the same signature.
    const { body: _body, ...bodyless } = request;
    expect(await signRequest(SECRET, { ...bodyless, contentSha256: bodyHash, timestamp: NOW, nonce: NONCE })).toEqual(headers);
  });

  it("signs the execution id header, whatever the spelling of its name", async () => {
    const signature = knownAnswer(["POST", request.path, String(NOW), NONCE, "ex_42", "", bodyHash]);
    for (const name of [EXECUTION_ID_HEADER, "X-Threadbox-Execution-Id"]) {
      const headers = await signRequest(SECRET, { ...request, headers: { [name]: "ex_42", accept: "x" }, timestamp: NOW, nonce: NONCE });
      expect(headers[SIGNATURE_HEADER]).toBe(signature);
    }
  });

  it("signs the runtime header, after the execution id", async () => {
    const signature = knownAnswer(["POST", request.path, String(NOW), NONCE, "ex_42", "http://rt-a:8788", bodyHash]);
    const headers = { [EXECUTION_ID_HEADER]: "ex_42", "X-Threadbox-Runtime": "http://rt-a:8788" };
    expect((await signRequest(SECRET, { ...request, headers, timestamp: NOW, nonce: NONCE }))[SIGNATURE_HEADER]).toBe(signature);
  });

  it("hashes a missing body as the empty string", async () => {
    const signature = knownAnswer(["GET", "/health", String(NOW), NONCE, "", "", EMPTY_SHA256]);
    const headers = await signRequest(SECRET, { method: "GET", path: "/health", timestamp: NOW, nonce: NONCE });
    expect(headers[SIGNATURE_HEADER]).toBe(signature);
    expect(headers[CONTENT_SHA256_HEADER]).toBe(EMPTY_SHA256);
  });

  it("defaults the timestamp to now and draws a fresh 128-bit nonce per request", async () => {
    const before = Math.floor(Date.now() / 1000);
    const first = await signRequest(SECRET, request);
    const ts = Number(first[TIMESTAMP_HEADER]);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    const nonces = new Set<string>();
    for (let i = 0; i < 200; i++) nonces.add((await signRequest(SECRET, request))[NONCE_HEADER] ?? "");
    expect(nonces.size).toBe(200);
    for (const nonce of nonces) expect(nonce).toMatch(/^[0-9a-f]{32}$/);
  });

  it("refuses a fractional timestamp, a malformed nonce or digest and an empty secret", async () => {
    await expect(signRequest(SECRET, { ...target, contentSha256: EMPTY_SHA256.toUpperCase() })).rejects.toThrow(/digest/);
    await expect(signRequest(SECRET, { ...request, contentSha256: EMPTY_SHA256 })).rejects.toThrow(/not both/);
    await expect(signRequest(SECRET, { ...request, timestamp: 1.5 })).rejects.toThrow(/unix seconds/);
    await expect(signRequest(SECRET, { ...request, nonce: NONCE.toUpperCase() })).rejects.toThrow(/nonce/);
    await expect(signRequest(SECRET, { ...request, nonce: "abc" })).rejects.toThrow(/nonce/);
    await expect(signRequest("", request)).rejects.toThrow(/empty/);
  });
});

describe("verifyRequest", () => {
  it("accepts a valid signature and returns its nonce and timestamp", async () => {
    const headers = await signed();
    const nonce = headers[NONCE_HEADER] ?? "";
    expect(await verifyRequest(SECRET, { ...target, header: from(headers), now: NOW })).toEqual(accepted(nonce));
    expect(await verifyRequest(SECRET, { ...target, method: "post", header: from(headers), now: NOW })).toEqual(accepted(nonce));
  });

  it("accepts skew up to the window and rejects 301 seconds in either direction", async () => {
    const cases = [[NOW - 300, true], [NOW + 300, true], [NOW - 301, false], [NOW + 301, false]] as const;
    for (const [ts, ok] of cases) {
      const headers = await signed({ timestamp: ts });
      const result = await verifyRequest(SECRET, { ...target, header: from(headers), now: NOW });
      expect(result, `timestamp ${ts - NOW}`).toEqual(ok ? accepted(headers[NONCE_HEADER] ?? "", ts) : fail("expired"));
    }
  });

  it("reports a missing timestamp, nonce or signature", async () => {
    const headers = await signed();
    for (const name of [TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER, CONTENT_SHA256_HEADER]) {
      for (const value of [undefined, ""]) {
        const header = from({ ...headers, [name]: value });
        expect(await verifyRequest(SECRET, { ...target, header, now: NOW }), `${name}=${value}`).toEqual(fail("missing"));
      }
    }
  });

  it.each([
    { [SIGNATURE_HEADER]: "garbage" },
    { [SIGNATURE_HEADER]: `v1=${"a".repeat(64)}` },
    { [SIGNATURE_HEADER]: `v2=${"a".repeat(64)}` },
    { [SIGNATURE_HEADER]: `v3=${"a".repeat(64)}` },
    { [SIGNATURE_HEADER]: `v4=${"a".repeat(63)}` },
    { [SIGNATURE_HEADER]: `v4=${"g".repeat(64)}` },
    { [SIGNATURE_HEADER]: `v4=${"A".repeat(64)}` },
    { [CONTENT_SHA256_HEADER]: EMPTY_SHA256.toUpperCase() },
    { [CONTENT_SHA256_HEADER]: EMPTY_SHA256.slice(1) },
    { [TIMESTAMP_HEADER]: "1.7e9" },
    { [TIMESTAMP_HEADER]: ` ${NOW}` },
    { [TIMESTAMP_HEADER]: "-5" },
    { [NONCE_HEADER]: NONCE.toUpperCase() },
    { [NONCE_HEADER]: NONCE.slice(1) },
    { [NONCE_HEADER]: `${NONCE}0` },
    { [NONCE_HEADER]: `${NONCE.slice(1)}z` },
  ])("reports malformed headers %j", async (change) => {
    const headers = { ...(await signed()), ...change };
    expect(await verifyRequest(SECRET, { ...target, header: from(headers), now: NOW })).toEqual(fail("malformed"));
  });

  it("reports a mismatch for any tampering, a tampered nonce or digest, or the wrong secret", async () => {
    const headers = await signed();
    const variants = [
      { ...target, path: "/threads/t1/th2/exec?stream=1" },
      { ...target, path: "/threads/t1/th1/exec?stream=0" },
      { ...target, method: "PUT" },
    ];
    for (const variant of variants) {
      expect(await verifyRequest(SECRET, { ...variant, header: from(headers), now: NOW })).toEqual(fail("mismatch"));
    }
    // Another body's digest (or the empty body's) in place of the signed one.
    for (const digest of [EMPTY_SHA256, createHash("sha256").update(`${body} `).digest("hex")]) {
      const header = from({ ...headers, [CONTENT_SHA256_HEADER]: digest });
      expect(await verifyRequest(SECRET, { ...target, header, now: NOW })).toEqual(fail("mismatch"));
    }
    const nonce = headers[NONCE_HEADER] ?? "";
    const otherNonce = `${nonce.slice(0, -1)}${nonce.endsWith("0") ? "1" : "0"}`;
    const withNonce = from({ ...headers, [NONCE_HEADER]: otherNonce });
    expect(await verifyRequest(SECRET, { ...target, header: withNonce, now: NOW })).toEqual(fail("mismatch"));
    const later = from({ ...headers, [TIMESTAMP_HEADER]: String(NOW + 1) });
    expect(await verifyRequest(SECRET, { ...target, header: later, now: NOW })).toEqual(fail("mismatch"));
    expect(await verifyRequest("another-secret", { ...target, header: from(headers), now: NOW })).toEqual(fail("mismatch"));
    const sig = headers[SIGNATURE_HEADER] ?? "";
    const flipped = from({ ...headers, [SIGNATURE_HEADER]: `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}` });
    expect(await verifyRequest(SECRET, { ...target, header: flipped, now: NOW })).toEqual(fail("mismatch"));
  });

  it("binds the execution id header: added, removed or changed is a mismatch", async () => {
    const withId = await signed({ headers: { [EXECUTION_ID_HEADER]: "ex_1" } });
    const good = from({ ...withId, [EXECUTION_ID_HEADER]: "ex_1" });
    expect((await verifyRequest(SECRET, { ...target, header: good, now: NOW })).ok).toBe(true);
    for (const id of ["ex_2", undefined]) {
      const header = from({ ...withId, [EXECUTION_ID_HEADER]: id });
      expect(await verifyRequest(SECRET, { ...target, header, now: NOW }), String(id)).toEqual(fail("mismatch"));
    }
    const without = from({ ...(await signed()), [EXECUTION_ID_HEADER]: "ex_1" });
    expect(await verifyRequest(SECRET, { ...target, header: without, now: NOW })).toEqual(fail("mismatch"));
  });

  it("binds the runtime header and returns it: a request for one runtime reads as such everywhere", async () => {
    const forA = await signed({ headers: { [RUNTIME_HEADER]: "http://rt-a:8788" } });
    const asSent = from({ ...forA, [RUNTIME_HEADER]: "http://rt-a:8788" });
    expect(await verifyRequest(SECRET, { ...target, header: asSent, now: NOW })).toEqual(accepted(forA[NONCE_HEADER] ?? "", NOW, "http://rt-a:8788"));
    // Readdressed to another runtime, or the name dropped: the signature no longer matches.
    for (const runtime of ["http://rt-b:8788", undefined]) {
      const header = from({ ...forA, [RUNTIME_HEADER]: runtime });
      expect(await verifyRequest(SECRET, { ...target, header, now: NOW }), String(runtime)).toEqual(fail("mismatch"));
    }
  });

  it("keeps verifying correctly when more secrets are used than the key cache holds", async () => {
    const secrets = Array.from({ length: 10 }, (_, i) => `secret-${i}`);
    for (const secret of [...secrets, ...secrets]) {
      const header = from(await signed({ secret }));
      expect((await verifyRequest(secret, { ...target, header, now: NOW })).ok).toBe(true);
      expect((await verifyRequest(`${secret}x`, { ...target, header, now: NOW })).ok).toBe(false);
    }
  });
});
