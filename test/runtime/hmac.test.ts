import { randomUUID } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CONTENT_SHA256_HEADER,
  EXECUTION_ID_HEADER,
  ErrorBodySchema,
  NONCE_HEADER,
  RUNTIME_HEADER,
  sha256Hex,
  signRequest,
} from "../../shared/src/index.ts";
import { type RuntimeProcess, startRuntime, TEST_SECRET } from "./harness.ts";

// The runtime's only gate is the worker's HMAC signature over method, path+query, timestamp, nonce, execution id
// and the body's signed digest. Checked through real HTTP: anything not signed by the secret, for this exact
// request, now, or sent a second time, is a 401, before routing (and before any body is read), a body other than
// the signed one is a 401, and bodies over the cap are refused whatever they claim.

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

  it("refuses a tampered body, and a body sent with another body's digest", async () => {
    const path = execPath();
    const res = await sendSignedAs({ method: "POST", path, body: { command: "echo evil" } }, { body: command });
    expect(await expectError(res, 401)).toBe("UNAUTHORIZED");
    // The signed headers of one body, the digest header swapped for the sent body's: the signature no longer holds.
    const evil = encode({ command: "echo evil" });
    const swapped = await rt.call("POST", execPath(), {
      body: { command: "echo evil" },
      sign: (h) => ({ ...h, [CONTENT_SHA256_HEADER]: "0".repeat(64) }),
    });
    expect(await expectError(swapped, 401)).toBe("UNAUTHORIZED");
    expect(await sha256Hex(evil)).not.toBe("0".repeat(64));
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

/** Sends a request once and keeps its signed headers, to send them again. */
async function captured(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) {
  let headers: Record<string, string> = {};
  const first = await rt.call(method, path, { ...opts, sign: (h) => (headers = h) });
  return { first, again: (target = rt) => target.call(method, path, { ...opts, sign: () => headers }), headers };
}

describe("replay protection", () => {
  it("refuses a captured valid request sent a second time, before it runs", async () => {
    const thread = `hm-${randomUUID()}`;
    const exec = `/threads/acme/${thread}/exec`;
    const req = await captured("POST", exec, { body: { command: "echo ran >> runs.txt" } });
    expect(req.first.status, await req.first.clone().text()).toBe(200);
    const replay = await req.again();
    const text = await replay.clone().text();
    expect(await expectError(replay, 401), text).toBe("UNAUTHORIZED");
    expect(text).toContain("replayed");
    // Also while the first one is long done, and for a GET: a replay is refused whatever the route.
    const list = await captured("GET", `/threads/acme/${thread}/files?path=`);
    expect(list.first.status).toBe(200);
    expect(await expectError(await list.again(), 401)).toBe("UNAUTHORIZED");
    // The command ran once.
    const file = await rt.call("GET", `/threads/acme/${thread}/files/runs.txt`);
    expect(await file.text()).toBe("ran\n");
  });

  it("refuses a tampered or missing nonce", async () => {
    const flip = (h: Record<string, string>) => {
      const nonce = h[NONCE_HEADER] ?? "";
      return { ...h, [NONCE_HEADER]: `${nonce.slice(0, -1)}${nonce.endsWith("0") ? "1" : "0"}` };
    };
    const without = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== NONCE_HEADER));
    for (const sign of [flip, without]) {
      const res = await rt.call("POST", execPath(), { body: { command: "echo x" }, sign });
      expect(await expectError(res, 401), sign.name).toBe("UNAUTHORIZED");
    }
  });

  it("refuses a request whose execution id was changed, added or dropped after signing", async () => {
    const path = execPath();
    const cases: [string | undefined, string | undefined][] = [["ex_signed", "ex_other"], [undefined, "ex_added"], ["ex_signed", undefined]];
    for (const [signed, sent] of cases) {
      const headers = await signRequest(TEST_SECRET, {
        method: "POST",
        path,
        body: encode({ command: "echo x" }),
        headers: signed === undefined ? undefined : { [EXECUTION_ID_HEADER]: signed },
      });
      const res = await rt.call("POST", path, {
        body: { command: "echo x" },
        sign: () => ({ ...headers, ...(sent === undefined ? {} : { [EXECUTION_ID_HEADER]: sent }) }),
      });
      expect(await expectError(res, 401), `${signed} → ${sent}`).toBe("UNAUTHORIZED");
    }
    // Signed and sent alike, it is the execution's id.
    const ok = await rt.call("POST", path, { body: { command: "echo x" }, headers: { [EXECUTION_ID_HEADER]: "ex_signed_ok" } });
    expect(await ok.json()).toMatchObject({ execution_id: "ex_signed_ok", exit_code: 0 });
  });

  it("refuses, at a runtime started later (a restart, another of the fleet), a request signed before it started", async () => {
    const req = await captured("POST", execPath(), { body: { command: "echo once" } });
    expect(req.first.status).toBe(200);
    const later = await startRuntime({ MAX_BODY_BYTES: String(MAX_BODY) });
    try {
      const res = await req.again(later);
      const text = await res.clone().text();
      expect(await expectError(res, 401), text).toBe("UNAUTHORIZED");
      expect(text).toContain("stale");
      // A request signed now passes there.
      expect((await later.call("POST", execPath(), { body: { command: "echo now" } })).status).toBe(200);
    } finally {
      await later.stop();
    }
  });
});

describe("runtimes sharing a secret", () => {
  it("refuses at one runtime a request captured on its way to another (RUNTIME_ID), and one that names none", async () => {
    // Both started before anything is signed, so "signed before it started" cannot be why they refuse.
    const a = await startRuntime({ RUNTIME_ID: "http://rt-a:8788" });
    const b = await startRuntime({ RUNTIME_ID: "http://rt-b:8788" });
    try {
      const thread = `hm-${randomUUID()}`;
      const path = `/threads/acme/${thread}/exec`;
      const opts = { body: { command: "echo ran >> runs.txt" }, headers: { [RUNTIME_HEADER]: "http://rt-a:8788" } };
      let headers: Record<string, string> = {};
      const first = await a.call("POST", path, { ...opts, sign: (h) => (headers = h) });
      expect(first.status, await first.clone().text()).toBe(200);
      // The captured request, sent as it was to runtime B (same secret, B has never seen its nonce).
      const replay = await b.call("POST", path, { ...opts, sign: () => headers });
      const text = await replay.clone().text();
      expect(await expectError(replay, 401), text).toBe("UNAUTHORIZED");
      expect(ErrorBodySchema.parse(JSON.parse(text)).error.message).toBe('request signed for runtime "http://rt-a:8788", this is "http://rt-b:8788"');
      // Readdressed to B after signing: the signature no longer matches.
      const readdressed = await b.call("POST", path, { body: opts.body, headers: { [RUNTIME_HEADER]: "http://rt-b:8788" }, sign: () => headers });
      expect(await expectError(readdressed, 401)).toBe("UNAUTHORIZED");
      // Signed without naming a runtime: refused where RUNTIME_ID is set.
      const unnamed = await b.call("POST", path, { body: opts.body, headers: { [RUNTIME_HEADER]: "" } });
      expect(await expectError(unnamed, 401)).toBe("UNAUTHORIZED");
      // Signed for B (the harness names the runtime it calls, as the worker does), B runs it; the captured command
      // ran once, at A.
      const forB = await b.call("POST", path, { body: { command: "echo for-b" } });
      expect(await forB.json()).toMatchObject({ exit_code: 0, stdout: "for-b\n" });
      expect(await (await a.call("GET", `/threads/acme/${thread}/files/runs.txt`)).text()).toBe("ran\n");
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

/**
 * Sends headers and the first bytes of a body that declares `declared` bytes, then waits (bounded) for an answer
 * without sending the rest: a runtime that checks the signature first answers; one that reads the body first waits.
 */
function answerBeforeBody(path: string, headers: Record<string, string>, declared: number): Promise<{ status: number; text: string } | "no answer"> {
  const url = new URL(rt.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: "PUT", path, headers: { ...headers, "content-length": String(declared) } });
    const timer = setTimeout(() => (req.destroy(), resolve("no answer")), 10_000);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => (clearTimeout(timer), req.destroy(), resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() })));
    });
    req.on("error", (err) => (clearTimeout(timer), reject(err)));
    req.write("x".repeat(16));
  });
}

describe("the signature is checked before the body is read", () => {
  const filePath = () => `/threads/acme/hm-${randomUUID()}/files/slow.bin`;

  it("refuses an unsigned or forged request (and one over the cap) at once, while its body is still on its way", async () => {
    const forged = await signRequest("another-secret-0123456789abcdef", { method: "PUT", path: "/x", body: "x" });
    for (const headers of [{}, forged]) {
      const answer = await answerBeforeBody(filePath(), headers, MAX_BODY);
      if (answer === "no answer") throw new Error("the runtime waited for the body of a request it had to refuse");
      expect(answer.status, answer.text).toBe(401);
      expect(ErrorBodySchema.parse(JSON.parse(answer.text)).error.code).toBe("UNAUTHORIZED");
    }
    // Signed, but declaring a body over the cap: 413, also at once.
    const path = filePath();
    const headers = await signRequest(TEST_SECRET, { method: "PUT", path, body: new Uint8Array(2 * MAX_BODY) });
    const answer = await answerBeforeBody(path, headers, 2 * MAX_BODY);
    if (answer === "no answer") throw new Error("the runtime waited for a body over its cap");
    expect(answer.status, answer.text).toBe(413);
  });
});

describe("health probes", () => {
  it("need a valid, current signature but claim no nonce: a probe sent twice is answered twice", async () => {
    const probe = await captured("GET", "/health");
    expect(probe.first.status).toBe(200);
    const again = await probe.again();
    expect(again.status, await again.clone().text()).toBe(200);
    // Still signed and time-windowed.
    expect(await expectError(await sendSignedAs({ method: "GET", path: "/health" }, { timestamp: now() - 600 }), 401)).toBe("UNAUTHORIZED");
    // Only the exact health read is exempt (other reads: "refuses a captured valid request sent a second time").
    const query = await captured("GET", "/health?x=1");
    expect(await expectError(await query.again(), 401)).toBe("UNAUTHORIZED");
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
