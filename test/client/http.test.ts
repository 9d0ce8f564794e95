import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Threadbox, ThreadboxError } from "../../client/src/index.ts";
import { type ScriptedServer, execEvents, json, ndjson, startScriptedServer } from "./scripted-server.ts";

// Requests against a scripted loopback server: typed errors, retries, creation on first use, paths and credentials.

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(() => {
  server.requests.length = 0;
});

const client = (opts: Partial<ConstructorParameters<typeof Threadbox>[0]> = {}) =>
  new Threadbox({ baseUrl: `${server.url}/`, apiKey: "tbx_key", resume: { baseDelayMs: 1, maxDelayMs: 5 }, ...opts });

const state = (id: string) => ({
  id,
  created_at: "2024-01-01T00:00:00.000Z",
  last_active_at: "2024-01-01T00:00:00.000Z",
  runtime: { index: 0, placed_at: "2024-01-01T00:00:00.000Z" },
  workspace: null,
  counts: { executions: 0, running: 0, queued: 0 },
});
const notFound = json(404, { error: { code: "THREAD_NOT_FOUND", message: "thread t not found", request_id: "req-1" } });

describe("errors", () => {
  it("an API error becomes a ThreadboxError with code, status, message, request id, retry-after and details", async () => {
    server.script(
      json(429, { error: { code: "THREAD_BUSY", message: "queue full", details: { retry_after: 120 }, request_id: "req-9" } }, { "retry-after": "120" }),
    );
    const err = await client()
      .thread("t")
      .exec("x")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThreadboxError);
    expect(err).toMatchObject({ code: "THREAD_BUSY", status: 429, message: "queue full", requestId: "req-9", retryAfter: 120, details: { retry_after: 120 } });
    // 120 s is beyond maxRetryAfter (30): not waited for.
    expect(server.requests).toHaveLength(1);
  });

  it("an answer that is not the API's error body is HTTP_ERROR with the status and the request id header", async () => {
    server.script((_req, res) => {
      res.writeHead(502, { "content-type": "text/html", "x-request-id": "edge-7" });
      res.end("<html>bad gateway</html>");
    });
    const err = await client()
      .thread("t")
      .state({})
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "HTTP_ERROR", status: 502, requestId: "edge-7" });
    expect((err as Error).message).toContain("bad gateway");
    expect(server.requests).toHaveLength(3); // a read: sent again twice
  });

  it("a refused request (429 with a short Retry-After) is sent again, also an execution", async () => {
    server.script(json(429, { error: { code: "RATE_LIMITED", message: "slow down" } }, { "retry-after": "1" }), ndjson(execEvents(1)));
    const result = await client().thread("t").exec("echo");
    expect(result.stdout).toBe("line 1\n");
    expect(server.requests.map((r) => r.method)).toEqual(["POST", "POST"]);
  });

  it("a 503 on an execution is not sent again (it may have run); on a read it is", async () => {
    server.script(json(503, { error: { code: "RUNTIME_UNAVAILABLE", message: "no runtime" } }));
    await expect(client().thread("t").exec("x")).rejects.toMatchObject({ code: "RUNTIME_UNAVAILABLE", status: 503 });
    expect(server.requests).toHaveLength(1);
    server.requests.length = 0;
    server.script(json(503, { error: { code: "RUNTIME_UNAVAILABLE", message: "no runtime" } }), json(200, state("t")));
    expect((await client().thread("t").state()).id).toBe("t");
    expect(server.requests).toHaveLength(2);
  });

  it("an answer that does not match the schema is INVALID_RESPONSE, not a crash later", async () => {
    server.script(json(200, { id: 5 }));
    await expect(client().thread("t").state()).rejects.toMatchObject({ code: "INVALID_RESPONSE", status: 200 });
  });
});

describe("threads created on first use", () => {
  it("THREAD_NOT_FOUND → POST /v1/threads with the id → the call once more", async () => {
    server.script(notFound, json(201, state("t")), ndjson(execEvents(1)));
    const result = await client().thread("t").exec("echo");
    expect(result.exit_code).toBe(0);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["POST /v1/threads/t/exec", "POST /v1/threads", "POST /v1/threads/t/exec"]);
    expect(JSON.parse(server.requests[1]?.body ?? "")).toEqual({ id: "t" });
  });

  it("a handle with settings creates its thread before its first call, once (the API would use default settings)", async () => {
    server.script(json(201, state("t")), ndjson(execEvents(1)), ndjson(execEvents(1)));
    const offline = client().thread("t", { network: "none" });
    expect((await offline.exec("echo")).exit_code).toBe(0);
    expect((await offline.exec("echo")).exit_code).toBe(0);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["POST /v1/threads", "POST /v1/threads/t/exec", "POST /v1/threads/t/exec"]);
    expect(JSON.parse(server.requests[0]?.body ?? "")).toEqual({ id: "t", network: "none" });
    // It exists already (409): kept as it is, and the call goes ahead.
    server.requests.length = 0;
    server.script(json(409, { error: { code: "THREAD_EXISTS", message: "exists" } }), ndjson(execEvents(1)));
    expect((await client().thread("t", { network: "none" }).exec("echo")).exit_code).toBe(0);
    expect(server.requests).toHaveLength(2);
  });

  it("another caller creating it first (409 THREAD_EXISTS) counts as created", async () => {
    server.script(notFound, json(409, { error: { code: "THREAD_EXISTS", message: "exists" } }), json(200, { path: "a.txt", size: 2 }));
    expect(await client().thread("t").files.write("a.txt", "hi")).toEqual({ path: "a.txt", size: 2 });
    expect(server.requests).toHaveLength(3);
  });

  it("only once: a second THREAD_NOT_FOUND is thrown; a failed creation throws its own error", async () => {
    server.script(notFound, json(201, state("t")), notFound);
    await expect(client().thread("t").state()).rejects.toMatchObject({ code: "THREAD_NOT_FOUND", requestId: "req-1" });
    expect(server.requests).toHaveLength(3);
    server.requests.length = 0;
    server.script(notFound, json(403, { error: { code: "FORBIDDEN", message: "no" } }));
    await expect(client().thread("t").state()).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("never with a token (it cannot create threads), nor when turned off, nor on delete", async () => {
    for (const tb of [client({ apiKey: undefined, token: "a.b.c" }), client({ autoCreate: false })]) {
      server.requests.length = 0;
      server.script(notFound);
      await expect(tb.thread("t").exec("x")).rejects.toMatchObject({ code: "THREAD_NOT_FOUND", status: 404 });
      expect(server.requests).toHaveLength(1);
    }
    server.requests.length = 0;
    server.script(notFound);
    await expect(client().thread("t").delete()).rejects.toMatchObject({ code: "THREAD_NOT_FOUND" });
    expect(server.requests).toHaveLength(1);
  });
});

describe("requests", () => {
  it("sends the credential (a function is asked each time), the base URL's path prefix and encoded paths", async () => {
    let n = 0;
    const tb = new Threadbox({ baseUrl: `${server.url}/prefix`, token: () => `tok${++n}` });
    server.script(json(200, { path: "d/a b%.txt", size: 1 }), json(200, { path: "d", entries: [] }));
    await tb.thread("t").files.write("/workspace/d/a b%.txt", new Uint8Array([65]));
    await tb.thread("t").files.list("/d", { recursive: true });
    expect(server.requests.map((r) => r.url)).toEqual(["/prefix/v1/threads/t/files/d/a%20b%25.txt", "/prefix/v1/threads/t/files?path=d&recursive=1"]);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(["Bearer tok1", "Bearer tok2"]);
    expect(server.requests[0]?.headers["content-type"]).toBe("application/octet-stream");
    expect(server.requests[0]?.body).toBe("A");
  });

  it("refuses a path outside the workspace and a bad thread id before sending anything", async () => {
    const tb = client();
    await expect(tb.thread("t").files.read("../etc/passwd")).rejects.toMatchObject({ code: "INVALID_PATH", status: 400 });
    await expect(tb.thread("t").files.write("a/./b", "x")).rejects.toMatchObject({ code: "INVALID_PATH" });
    await expect(tb.thread("t").files.write("/", "x")).rejects.toMatchObject({ code: "INVALID_PATH" });
    expect(() => tb.thread("../x")).toThrow(ThreadboxError);
    expect(server.requests).toHaveLength(0);
  });

  it("needs exactly one of apiKey and token, and a baseUrl", () => {
    expect(() => new Threadbox({ baseUrl: server.url })).toThrow(/an apiKey or a token is required/);
    expect(() => new Threadbox({ baseUrl: server.url, apiKey: "a", token: "b" })).toThrow(/not both/);
    expect(() => new Threadbox({ baseUrl: "", apiKey: "a" })).toThrow(/baseUrl/);
  });

  it("a custom fetch is used for every request", async () => {
    const urls: string[] = [];
    const tb = client({ fetch: (url, init) => (urls.push(url), fetch(url, init)) });
    server.script(json(200, state("t")));
    await tb.thread("t").state();
    expect(urls).toEqual([`${server.url}/v1/threads/t`]);
  });
});
