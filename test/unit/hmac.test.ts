import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex, signRequest, verifyRequest } from "../../shared/src/hmac.ts";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../../shared/src/runtime-api.ts";

const SECRET = "s3cret-for-tests";
const NOW = 1_700_000_000;
const request = { method: "POST", path: "/threads/t1/th1/exec?stream=1", body: '{"cmd":"ls -la é"}' };

const fail = (reason: string) => ({ ok: false, reason });

async function signed(overrides: { timestamp?: number; secret?: string } = {}) {
  const headers = await signRequest(overrides.secret ?? SECRET, { ...request, timestamp: overrides.timestamp ?? NOW });
  return { timestamp: headers[TIMESTAMP_HEADER], signature: headers[SIGNATURE_HEADER] };
}

describe("sha256Hex", () => {
  it("matches node:crypto for strings, bytes and the empty body", async () => {
    const digest = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
    expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(await sha256Hex("héllo")).toBe(digest("héllo"));
    expect(await sha256Hex(Uint8Array.of(0, 255, 1))).toBe(digest(Uint8Array.of(0, 255, 1)));
  });
});

describe("signRequest", () => {
  it("signs the documented canonical string (known answer from node:crypto)", async () => {
    const bodyHash = createHash("sha256").update(request.body, "utf8").digest("hex");
    const canonical = `POST\n${request.path}\n${NOW}\n${bodyHash}`;
    const expected = createHmac("sha256", SECRET).update(canonical, "utf8").digest("hex");
    const headers = await signRequest(SECRET, { ...request, method: "post", timestamp: NOW });
    expect(headers).toEqual({ [TIMESTAMP_HEADER]: String(NOW), [SIGNATURE_HEADER]: `v1=${expected}` });
  });

  it("hashes a missing body as the empty string", async () => {
    const canonical = `GET\n/health\n${NOW}\n${createHash("sha256").digest("hex")}`;
    const expected = createHmac("sha256", SECRET).update(canonical).digest("hex");
    const headers = await signRequest(SECRET, { method: "GET", path: "/health", timestamp: NOW });
    expect(headers[SIGNATURE_HEADER]).toBe(`v1=${expected}`);
  });

  it("defaults the timestamp to now, in seconds", async () => {
    const before = Math.floor(Date.now() / 1000);
    const ts = Number((await signRequest(SECRET, request))[TIMESTAMP_HEADER]);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it("refuses a fractional timestamp and an empty secret", async () => {
    await expect(signRequest(SECRET, { ...request, timestamp: 1.5 })).rejects.toThrow(/unix seconds/);
    await expect(signRequest("", request)).rejects.toThrow(/empty/);
  });
});

describe("verifyRequest", () => {
  it("accepts a valid signature, with the body as string or bytes and any method case", async () => {
    const headers = await signed();
    expect(await verifyRequest(SECRET, { ...request, ...headers, now: NOW })).toEqual({ ok: true });
    const bytes = new TextEncoder().encode(request.body);
    expect(await verifyRequest(SECRET, { ...request, body: bytes, method: "post", ...headers, now: NOW })).toEqual({
      ok: true,
    });
  });

  it("accepts skew up to the window and rejects 301 seconds in either direction", async () => {
    const cases = [[NOW - 300, true], [NOW + 300, true], [NOW - 301, false], [NOW + 301, false]] as const;
    for (const [ts, ok] of cases) {
      const result = await verifyRequest(SECRET, { ...request, ...(await signed({ timestamp: ts })), now: NOW });
      expect(result, `timestamp ${ts - NOW}`).toEqual(ok ? { ok: true } : fail("expired"));
    }
  });

  it("reports missing headers", async () => {
    const { timestamp, signature } = await signed();
    const cases = [
      { timestamp: null, signature: null },
      { timestamp, signature: undefined },
      { timestamp: "", signature },
    ];
    for (const headers of cases) {
      expect(await verifyRequest(SECRET, { ...request, ...headers, now: NOW })).toEqual(fail("missing"));
    }
  });

  it.each([
    { timestamp: String(NOW), signature: "garbage" },
    { timestamp: String(NOW), signature: `v2=${"a".repeat(64)}` },
    { timestamp: String(NOW), signature: `v1=${"a".repeat(63)}` },
    { timestamp: String(NOW), signature: `v1=${"g".repeat(64)}` },
    { timestamp: "1.7e9", signature: `v1=${"a".repeat(64)}` },
    { timestamp: ` ${NOW}`, signature: `v1=${"a".repeat(64)}` },
    { timestamp: "-5", signature: `v1=${"a".repeat(64)}` },
  ])("reports malformed headers %j", async (headers) => {
    expect(await verifyRequest(SECRET, { ...request, ...headers, now: NOW })).toEqual(fail("malformed"));
  });

  it("reports a mismatch for any tampering or the wrong secret", async () => {
    const headers = await signed();
    const tampered = new TextEncoder().encode(request.body);
    tampered[3] = (tampered[3] ?? 0) ^ 1;
    const variants = [
      { ...request, body: tampered },
      { ...request, path: "/threads/t1/th2/exec?stream=1" },
      { ...request, path: "/threads/t1/th1/exec?stream=0" },
      { ...request, method: "PUT" },
      { ...request, body: undefined },
    ];
    for (const variant of variants) {
      expect(await verifyRequest(SECRET, { ...variant, ...headers, now: NOW })).toEqual(fail("mismatch"));
    }
    expect(await verifyRequest("another-secret", { ...request, ...headers, now: NOW })).toEqual(fail("mismatch"));
    const flipped = `${headers.signature?.slice(0, -1)}${headers.signature?.endsWith("0") ? "1" : "0"}`;
    expect(await verifyRequest(SECRET, { ...request, ...headers, signature: flipped, now: NOW })).toEqual(
      fail("mismatch"),
    );
  });

  it("keeps verifying correctly when more secrets are used than the key cache holds", async () => {
    const secrets = Array.from({ length: 10 }, (_, i) => `secret-${i}`);
    for (const secret of [...secrets, ...secrets]) {
      const headers = await signed({ secret });
      expect(await verifyRequest(secret, { ...request, ...headers, now: NOW })).toEqual({ ok: true });
      expect((await verifyRequest(`${secret}x`, { ...request, ...headers, now: NOW })).ok).toBe(false);
    }
  });
});
