import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, signRequest } from "../../shared/src/index.ts";
import { type RuntimeProcess, startRuntime, TEST_SECRET } from "./harness.ts";

// The runtime's only gate is the worker's HMAC signature over method, path+query, timestamp and body.
// Checked through real HTTP: anything not signed by the secret, for this exact request, now, is a 401,
// before routing, and bodies over the cap are refused whatever they claim.

const MAX_BODY = 4096;
let rt: RuntimeProcess;

beforeAll(async () => {
  rt = await startRuntime({ MAX_BODY_BYTES: String(MAX_BODY) });
});
afterAll(async () => {
  await rt?.stop();
});

const execPath = () => `/threads/acme/hm-${randomUUID()}/exec`;
const now = () => Math.floor(Date.now() / 1000);
const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** Asserts the status and the API's error body shape, and returns the error code. */
async function expectError(res: Response, status: number): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return ErrorBodySchema.parse(JSON.parse(text)).error.code;
}

/** Sends `body` to `path` with headers signed for a possibly different request. */
async function sendSignedAs(
  sent: { method: string; path: string; body?: unknown },
  signed: { secret?: string; method?: string; path?: string; body?: unknown; timestamp?: number },
): Promise<Response> {
  const headers = await signRequest(signed.secret ?? TEST_SECRET, {
    method: signed.method ?? sent.method,
    path: signed.path ?? sent.path,
    body: encode(signed.body ?? sent.body),
    timestamp: signed.timestamp,
  });
  return rt.call(sent.method, sent.path, { body: sent.body, sign: () => headers });
}

describe("request signatures", () => {
  const command = { command: "echo signed" };

  it("accepts a valid signature", async () => {
    const res = await rt.call("POST", execPath(), { body: command });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ exit_code: 0, stdout: "signed\n" });
    // The helper the refusals below use, signing exactly what it sends, is accepted too.
    const same = await sendSignedAs({ method: "POST", path: execPath(), body: command }, {});
    expect(same.status).toBe(200);
  });

  it("refuses a request without a signature", async () => {
    expect(await expectError(await rt.call("POST", execPath(), { body: command, sign: false }), 401)).toBe("UNAUTHORIZED");
    expect(await expectError(await rt.call("GET", "/health", { sign: false }), 401)).toBe("UNAUTHORIZED");
  });

  it("refuses a signature made with another secret", async () => {
    const path = execPath();
    const res = await sendSignedAs({ method: "POST", path, body: command }, { secret: "another-secret-0123456789abcdef" });
    expect(await expectError(res, 401)).toBe("UNAUTHORIZED");
  });

  it.each([
    ["expired", -600],
    ["from the future", 600],
  ])("refuses a timestamp %s", async (_name, skew) => {
    const path = execPath();
    const res = await sendSignedAs({ method: "POST", path, body: command }, { timestamp: now() + skew });
    expect(await expectError(res, 401)).toBe("UNAUTHORIZED");
  });

  it("refuses a malformed signature header", async () => {
    const res = await rt.call("POST", execPath(), {
      body: command,
      sign: (h) => ({ ...h, "x-threadbox-signature": `v1=${"zz".repeat(32)}` }),
    });
    expect(await expectError(res, 401)).toBe("UNAUTHORIZED");
  });

  it("refuses a tampered body", async () => {
    const path = execPath();
    const res = await sendSignedAs({ method: "POST", path, body: { command: "echo evil" } }, { body: command });
    expect(await expectError(res, 401)).toBe("UNAUTHORIZED");
  });

  it("refuses a signature made for another thread, method or query", async () => {
    const path = execPath();
    const other = await sendSignedAs({ method: "POST", path, body: command }, { path: execPath() });
    expect(await expectError(other, 401)).toBe("UNAUTHORIZED");

    const files = `/threads/acme/hm-${randomUUID()}/files/a.txt`;
    const method = await sendSignedAs({ method: "DELETE", path: files }, { method: "GET" });
    expect(await expectError(method, 401)).toBe("UNAUTHORIZED");

    const list = `/threads/acme/hm-${randomUUID()}/files`;
    const query = await sendSignedAs({ method: "GET", path: `${list}?path=b` }, { path: `${list}?path=a` });
    expect(await expectError(query, 401)).toBe("UNAUTHORIZED");
  });
});

describe("authentication comes before routing", () => {
  it("answers 401 to an unsigned call of an unknown route and 404 NOT_FOUND to a signed one", async () => {
    expect(await expectError(await rt.call("GET", "/no/such/route", { sign: false }), 401)).toBe("UNAUTHORIZED");
    expect(await expectError(await rt.call("GET", "/no/such/route"), 404)).toBe("NOT_FOUND");
    expect(await expectError(await rt.call("POST", "/threads/acme", { body: {} }), 404)).toBe("NOT_FOUND");
  });
});

describe("body size cap", () => {
  const filePath = (thread: string) => `/threads/acme/${thread}/files/big.bin`;

  it("accepts a body at the cap", async () => {
    const res = await rt.call("PUT", filePath(`hm-${randomUUID()}`), { raw: new Uint8Array(MAX_BODY) });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await res.json()).toEqual({ path: "big.bin", size: MAX_BODY });
  });

  it("refuses a signed body over the cap with 413 and writes nothing", async () => {
    const thread = `hm-${randomUUID()}`;
    const res = await rt.call("PUT", filePath(thread), { raw: new Uint8Array(2 * MAX_BODY) });
    expect(await expectError(res, 413)).toBe("PAYLOAD_TOO_LARGE");
    expect(await expectError(await rt.call("GET", filePath(thread)), 404)).toMatch(/^(THREAD|FILE)_NOT_FOUND$/);
  });

  it("refuses a chunked body over the cap that declares no length", async () => {
    const thread = `hm-${randomUUID()}`;
    const body = new Uint8Array(2 * MAX_BODY);
    const headers = await signRequest(TEST_SECRET, { method: "PUT", path: filePath(thread), body });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < body.length; i += 1024) controller.enqueue(body.subarray(i, i + 1024));
        controller.close();
      },
    });
    const res = await fetch(rt.url + filePath(thread), {
      method: "PUT",
      headers,
      body: stream,
      duplex: "half",
    } as RequestInit & { duplex: "half" });
    expect(await expectError(res, 413)).toBe("PAYLOAD_TOO_LARGE");
    expect(await expectError(await rt.call("GET", filePath(thread)), 404)).toMatch(/^(THREAD|FILE)_NOT_FOUND$/);
  });
});
