import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecResultSchema, type RunPythonResponse, sha256Hex } from "../../shared/src/index.ts";
import { TEST_SECRET } from "../runtime/harness.ts";
import { type ErrorJson, createThread, expectJson, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";
import { type WorkerProcess, startWorker } from "./wrangler-dev.ts";

// Who may reach what: API keys, tenants (a uniform 404 across tenants), thread tokens, forged tokens, rate limits
// and body caps.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const b64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");

/** An error body with the request id dropped and the thread id replaced, to compare two 404s. */
function shape(body: ErrorJson, thread: string) {
  const { request_id: _ignored, ...rest } = body.error;
  return JSON.parse(JSON.stringify(rest).replaceAll(thread, "<thread>"));
}

async function mintToken(thread: string, auth?: string): Promise<string> {
  const res = await stack.api("POST", "/v1/tokens", { body: { thread }, ...(auth === undefined ? {} : { auth }) });
  const body = await expectJson<{ token: string; thread: string; expires_at: string }>(res, 201);
  expect(body.thread).toBe(thread);
  expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.now());
  expect(body.token.split(".")).toHaveLength(3);
  return body.token;
}

describe("API keys", () => {
  it("answers a missing or wrong key with 401 and a Bearer challenge", async () => {
    const thread = await createThread(stack, uniqueId("keys"));
    for (const auth of [null, "", "tbx_a_wrong", `${stack.tenants.a.key}x`, stack.tenants.a.key.slice(0, -1)]) {
      const res = await stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "echo hi" }, auth });
      const body = await expectJson<ErrorJson>(res, 401);
      expect(body.error.code).toBe("UNAUTHORIZED");
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
    // Not Bearer at all.
    const basic = await fetch(`${stack.worker.url}/v1/threads/${thread}`, {
      headers: { authorization: `Basic ${Buffer.from(`x:${stack.tenants.a.key}`).toString("base64")}` },
    });
    expect(basic.status).toBe(401);
  });
});

describe("tenants", () => {
  it("answers tenant b's key on tenant a's thread with the same 404 as a thread that does not exist", async () => {
    const thread = await createThread(stack, uniqueId("owned"));
    const missing = uniqueId("missing");
    const ok = await stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "echo mine > mine.txt; echo ok" } });
    const exec = ExecResultSchema.parse(await expectJson(ok, 200));
    const b = stack.tenants.b.key;
    // Reads (and deletes): an execution or a write would create b's own thread of that id (below).
    const routes: [string, (t: string) => string][] = [
      ["GET", (t) => `/v1/threads/${t}`],
      ["GET", (t) => `/v1/threads/${t}/files/mine.txt`],
      ["GET", (t) => `/v1/threads/${t}/files?path=`],
      ["GET", (t) => `/v1/threads/${t}/executions`],
      ["GET", (t) => `/v1/threads/${t}/executions/${exec.execution_id}`],
      ["GET", (t) => `/v1/threads/${t}/executions/${exec.execution_id}/events`],
      ["POST", (t) => `/v1/threads/${t}/executions/${exec.execution_id}/cancel`],
      ["DELETE", (t) => `/v1/threads/${t}`],
    ];
    for (const [method, route] of routes) {
      const other = await expectJson<ErrorJson>(stack.api(method, route(thread), { auth: b }), 404);
      const none = await expectJson<ErrorJson>(stack.api(method, route(missing), { auth: b }), 404);
      const noneA = await expectJson<ErrorJson>(stack.api(method, route(missing)), 404);
      expect(other.error.code, `${method} ${route("T")}`).toBe("THREAD_NOT_FOUND");
      expect(shape(other, thread), `${method} ${route("T")}`).toEqual(shape(none, missing));
      expect(shape(other, thread), `${method} ${route("T")}`).toEqual(shape(noneA, missing));
      expect(JSON.stringify(other)).not.toContain(stack.tenants.a.name);
    }

    // b's executions and writes under a's thread id create and use b's own thread: a's files are not there.
    const cat = ExecResultSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "cat mine.txt" }, auth: b }), 200));
    expect(cat).toMatchObject({ exit_code: 1, stdout: "" });
    const py = await expectJson<RunPythonResponse>(stack.api("POST", `/v1/threads/${thread}/run_python`, { body: { code: "print(open('mine.txt').read())" }, auth: b }), 200);
    expect(py.metadata.error_type).toBe("FileNotFoundError");
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/planted.txt`, { raw: "x", auth: b }), 201);
    // The seed-003 tool route names the thread in the body: the same.
    const sandbox = await createThread(stack, randomUUID());
    await expectJson(stack.api("PUT", `/v1/threads/${sandbox}/files/mine.txt`, { raw: "a's" }), 201);
    const tool = await expectJson<RunPythonResponse>(
      stack.api("POST", "/v1/tools/run_python", { body: { sandbox_id: sandbox, code: "print(open('mine.txt').read())" }, auth: b }),
      200,
    );
    expect(tool.metadata.error_type).toBe("FileNotFoundError");

    // And nothing of b's reached a's thread: it still exists, untouched.
    const still = await stack.api("GET", `/v1/threads/${thread}/files/mine.txt`);
    expect(await still.text()).toBe("mine\n");
    const gone = await stack.api("GET", `/v1/threads/${thread}/files/planted.txt`);
    expect(gone.status).toBe(404);
    expect((await stack.api("GET", `/v1/threads/${thread}/files/planted.txt`, { auth: b })).status).toBe(200);
  });

  it("answers tenant b on tenant a's thread byte for byte as before the thread existed (bar the request id)", async () => {
    const thread = uniqueId("bytes");
    // Reads and deletes (an execution or a write by b would create b's own thread of this id).
    const routes: [string, string, unknown?][] = [
      ["GET", ""],
      ["GET", "/files/a.txt"],
      ["GET", "/files?path="],
      ["GET", "/executions"],
      ["DELETE", ""],
    ];
    const answers = async () => {
      const out: unknown[] = [];
      for (const [method, suffix, body] of routes) {
        const res = await stack.api(method, `/v1/threads/${thread}${suffix}`, { body, auth: stack.tenants.b.key });
        const text = (await res.text()).replace(/"request_id":"[^"]*"/, '"request_id":"-"');
        out.push({ route: `${method} ${suffix}`, status: res.status, type: res.headers.get("content-type"), text });
      }
      return out;
    };
    const missing = await answers();
    expect(missing.every((a) => (a as { status: number }).status === 404)).toBe(true);
    await createThread(stack, thread);
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/a.txt`, { raw: "a's" }), 201);
    expect(await answers()).toEqual(missing);
  });

  it("gives each tenant its own workspace for the same thread id", async () => {
    const thread = uniqueId("shared-id");
    await createThread(stack, thread, stack.tenants.a.key);
    await createThread(stack, thread, stack.tenants.b.key);
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/secret.txt`, { raw: "tenant a only\n" }), 201);
    const a = ExecResultSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "echo a-was-here > a.txt; cat secret.txt" } }), 200),
    );
    expect(a.stdout).toBe("tenant a only\n");

    const b = stack.tenants.b.key;
    const read = await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${thread}/files/secret.txt`, { auth: b }), 404);
    expect(read.error.code).toBe("FILE_NOT_FOUND");
    const bExec = ExecResultSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "ls; cat secret.txt a.txt" }, auth: b }), 200),
    );
    expect(bExec.exit_code).not.toBe(0);
    expect(bExec.stdout + bExec.stderr).not.toContain("tenant a only");
    expect(bExec.stdout).not.toContain("secret.txt");
    const list = await expectJson<{ entries: { path: string }[] }>(stack.api("GET", `/v1/threads/${thread}/files?path=`, { auth: b }), 200);
    expect(list.entries.map((e) => e.path)).not.toContain("secret.txt");
    // b's history does not show a's executions.
    const history = await expectJson<{ executions: unknown[] }>(stack.api("GET", `/v1/threads/${thread}/executions`, { auth: b }), 200);
    expect(history.executions).toHaveLength(1);

    // On the host: two directories, the file only in a's.
    const dirA = path.join(stack.runtime.workspaces, stack.tenants.a.name, thread);
    const dirB = path.join(stack.runtime.workspaces, stack.tenants.b.name, thread);
    expect(readFileSync(path.join(dirA, "secret.txt"), "utf8")).toBe("tenant a only\n");
    expect(existsSync(dirB)).toBe(true);
    expect(existsSync(path.join(dirB, "secret.txt"))).toBe(false);

    // Deleting b's thread leaves a's.
    await expectJson(stack.api("DELETE", `/v1/threads/${thread}`, { auth: b }), 200);
    expect(existsSync(dirB)).toBe(false);
    expect(existsSync(path.join(dirA, "secret.txt"))).toBe(true);
  });
});

describe("thread tokens", () => {
  it("mints a token with a key; the token reaches its own thread only", async () => {
    const thread = await createThread(stack, uniqueId("tok"));
    const other = await createThread(stack, uniqueId("tok-other"));
    const token = await mintToken(thread);

    const run = ExecResultSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "echo via-token" }, auth: token }), 200),
    );
    expect(run.stdout).toBe("via-token\n");
    await expectJson(stack.api("GET", `/v1/threads/${thread}`, { auth: token }), 200);
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/t.txt`, { raw: "t", auth: token }), 201);
    await expectJson(stack.api("GET", `/v1/threads/${thread}/executions/${run.execution_id}`, { auth: token }), 200);

    // Another thread of the same tenant: the same 404 as a thread that does not exist.
    const missing = uniqueId("tok-missing");
    for (const [method, route, body] of [
      ["POST", "exec", { command: "echo nope" }],
      ["GET", "", undefined],
      ["GET", "files/t.txt", undefined],
      ["DELETE", "", undefined],
    ] as const) {
      const suffix = route ? `/${route}` : "";
      const opts = body === undefined ? { auth: token } : { body, auth: token };
      const res = await expectJson<ErrorJson>(stack.api(method, `/v1/threads/${other}${suffix}`, opts), 404);
      const none = await expectJson<ErrorJson>(stack.api(method, `/v1/threads/${missing}${suffix}`, opts), 404);
      expect(res.error.code).toBe("THREAD_NOT_FOUND");
      expect(shape(res, other)).toEqual(shape(none, missing));
    }
    // The other thread is untouched (the DELETE above was refused).
    await expectJson(stack.api("GET", `/v1/threads/${other}`), 200);
  });

  it("refuses a token minting tokens or creating threads (403)", async () => {
    const thread = await createThread(stack, uniqueId("tok-mint"));
    const token = await mintToken(thread);
    for (const body of [{ thread }, { thread: uniqueId("x") }, {}]) {
      const res = await expectJson<ErrorJson>(stack.api("POST", "/v1/tokens", { body, auth: token }), 403);
      expect(res.error.code).toBe("FORBIDDEN");
    }
    const create = await expectJson<ErrorJson>(stack.api("POST", "/v1/threads", { body: { id: uniqueId("by-token") }, auth: token }), 403);
    expect(create.error.code).toBe("FORBIDDEN");
  });

  it("scopes a token to its tenant: tenant b cannot get one for tenant a's thread id, and b's own reaches b's thread only", async () => {
    const thread = await createThread(stack, uniqueId("tok-tenant"));
    // Tokens are minted for existing threads only: for b, a's thread id names nothing.
    const refused = await expectJson<ErrorJson>(stack.api("POST", "/v1/tokens", { body: { thread }, auth: stack.tenants.b.key }), 404);
    expect(refused.error.code).toBe("THREAD_NOT_FOUND");
    await createThread(stack, thread, stack.tenants.b.key);
    const tokenB = await mintToken(thread, stack.tenants.b.key);
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/b.txt`, { raw: "b's", auth: tokenB }), 201);
    // Written to b's workspace, not a's.
    expect((await stack.api("GET", `/v1/threads/${thread}/files/b.txt`)).status).toBe(404);
    expect(await (await stack.api("GET", `/v1/threads/${thread}/files/b.txt`, { auth: stack.tenants.b.key })).text()).toBe("b's");
  });

  it("binds a token to its thread's incarnation: deleted and created again, the thread does not honour it", async () => {
    const thread = await createThread(stack, uniqueId("tok-inc"));
    const token = await mintToken(thread);
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/old.txt`, { raw: "old", auth: token }), 201);
    await expectJson(stack.api("DELETE", `/v1/threads/${thread}`), 200);
    await createThread(stack, thread);
    for (const [method, route, body] of [
      ["GET", "", undefined],
      ["POST", "/exec", { command: "echo stale" }],
      ["GET", "/files?path=", undefined],
      ["PUT", "/files/planted.txt", "x"],
    ] as const) {
      const opts = typeof body === "string" ? { raw: body, auth: token } : body === undefined ? { auth: token } : { body, auth: token };
      const res = await expectJson<ErrorJson>(stack.api(method, `/v1/threads/${thread}${route}`, opts), 404);
      expect(res.error.code, `${method} ${route}`).toBe("THREAD_NOT_FOUND");
    }
    expect((await stack.api("GET", `/v1/threads/${thread}/files/planted.txt`)).status).toBe(404);
    const fresh = await mintToken(thread);
    await expectJson(stack.api("GET", `/v1/threads/${thread}`, { auth: fresh }), 200);
  });

  it("lets a token delete its thread only when minted with can_delete, and revokes a thread's tokens on request", async () => {
    const thread = await createThread(stack, uniqueId("tok-del"));
    const token = await mintToken(thread);
    expect((await expectJson<ErrorJson>(stack.api("DELETE", `/v1/threads/${thread}`, { auth: token }), 403)).error.code).toBe("FORBIDDEN");
    await expectJson(stack.api("GET", `/v1/threads/${thread}`), 200);

    await expectJson(stack.api("POST", `/v1/threads/${thread}/tokens/revoke`), 200);
    expect((await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${thread}`, { auth: token }), 401)).error.code).toBe("UNAUTHORIZED");

    const res = await stack.api("POST", "/v1/tokens", { body: { thread, can_delete: true } });
    const deleter = (await expectJson<{ token: string; can_delete: boolean }>(res, 201));
    expect(deleter.can_delete).toBe(true);
    await expectJson(stack.api("DELETE", `/v1/threads/${thread}`, { auth: deleter.token }), 200);
    await expectJson(stack.api("GET", `/v1/threads/${thread}`), 404);
  });

  it("refuses forged tokens: a changed signature, a changed payload, alg none (401)", async () => {
    const thread = await createThread(stack, uniqueId("tok-forge"));
    const other = await createThread(stack, uniqueId("tok-forge-other"));
    const token = await mintToken(thread);
    const [header = "", payload = "", signature = ""] = token.split(".");
    const flip = (c: string) => (c === "A" ? "B" : "A");

    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    expect(claims).toMatchObject({ thread, sub: stack.tenants.a.name });

    const forged = [
      // One character of the signature changed (first, middle: a real HMAC mismatch, not just bad encoding).
      `${header}.${payload}.${flip(signature[0] ?? "")}${signature.slice(1)}`,
      `${header}.${payload}.${signature.slice(0, 20)}${flip(signature[20] ?? "")}${signature.slice(21)}`,
      // The payload retargeted to another thread, signature kept.
      `${header}.${b64url(JSON.stringify({ ...claims, thread: other }))}.${signature}`,
      // alg: none, no signature / the old signature.
      `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify({ ...claims, thread: other }))}.`,
      `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`,
      `${b64url(JSON.stringify({ alg: "none" }))}.${payload}.${signature}`,
      `${b64url(JSON.stringify({ alg: "HS512", typ: "JWT" }))}.${payload}.${signature}`,
      // Expired long ago, re-signed by nobody.
      `${header}.${b64url(JSON.stringify({ ...claims, iat: 1_000_000, exp: 1_000_900 }))}.${signature}`,
    ];
    for (const bad of forged) {
      for (const target of [thread, other]) {
        const res = await stack.api("POST", `/v1/threads/${target}/exec`, { body: { command: "echo forged" }, auth: bad });
        const body = await expectJson<ErrorJson>(res, 401);
        expect(body.error.code, bad).toBe("UNAUTHORIZED");
        expect(res.headers.get("www-authenticate")).toContain("Bearer");
      }
    }
    // Nothing ran on either thread.
    for (const t of [thread, other]) {
      const history = await expectJson<{ executions: unknown[] }>(stack.api("GET", `/v1/threads/${t}/executions`), 200);
      expect(history.executions).toEqual([]);
    }
    // The genuine token still works.
    await expectJson(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "true" }, auth: token }), 200);
  });
});

describe("rate limits and body caps (a worker of its own: 60 a minute in bursts of 3, bodies up to 4 KiB)", () => {
  let limited: WorkerProcess;
  // Two keys of one tenant (limits are per key) and one for the body-cap test, all of tenant a.
  const key = (label: string) => `tbx_${label}_${randomBytes(16).toString("hex")}`;
  const keys = { one: key("r1"), two: key("r2"), three: key("r3") };

  beforeAll(async () => {
    const hashes = await Promise.all(Object.values(keys).map((k) => sha256Hex(k)));
    limited = await startWorker({
      RUNTIME_URL: stack.runtime.url,
      HMAC_SECRET: TEST_SECRET,
      API_KEYS: JSON.stringify(Object.fromEntries(hashes.map((h) => [h, stack.tenants.a.name]))),
      RATE_LIMIT_PER_MINUTE: "60",
      RATE_LIMIT_BURST: "3",
      MAX_BODY_BYTES: "4096",
    });
  });
  afterAll(async () => {
    await limited?.stop();
  });

  const call = (key: string, method: string, path: string, body?: string | Uint8Array) =>
    fetch(limited.url + path, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body });

  it("answers a burst over the limit with 429 RATE_LIMITED and Retry-After, per key, and lets the key in again after it", async () => {
    // One token a second: however slow this machine, a loop of quick requests outruns the refill (bounded to 20).
    let passed = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      const res = await call(keys.one, "GET", "/v1/threads/never-created");
      if (res.status === 429) refused = res;
      else expect((await expectJson<ErrorJson>(res, 404)).error.code).toBe("THREAD_NOT_FOUND");
      if (res.status !== 429) passed++;
    }
    if (!refused) throw new Error("20 quick requests were never rate limited");
    expect(passed).toBeGreaterThanOrEqual(3);
    const retryAfter = Number(refused.headers.get("retry-after"));
    const body = await expectJson<ErrorJson>(refused, 429);
    expect(body.error).toMatchObject({ code: "RATE_LIMITED", details: { retry_after: retryAfter, limit_per_minute: 60, burst: 3 } });
    expect(retryAfter).toBeGreaterThanOrEqual(1);

    // Another key of the same tenant has its own bucket; health stays open to everyone.
    await expectJson(call(keys.two, "GET", "/v1/threads/never-created"), 404);
    expect((await call(keys.one, "GET", "/v1/health")).status).toBe(200);

    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 200));
    await expectJson(call(keys.one, "GET", "/v1/threads/never-created"), 404);
  });

  // A chunked upload over the cap is refused in workerd too (test/worker/api-security.test.ts); through `wrangler dev`
  // its local proxy sometimes turns that early 413 into its own "503 Your worker restarted mid-request".
  it("refuses a request body over the cap with 413 and writes nothing; one at the cap passes", async () => {
    const thread = uniqueId("cap");
    await expectJson(call(keys.three, "POST", "/v1/threads", JSON.stringify({ id: thread })), 201);
    const file = (name: string) => path.join(stack.runtime.workspaces, stack.tenants.a.name, thread, name);
    const over = await expectJson<ErrorJson>(call(keys.three, "PUT", `/v1/threads/${thread}/files/over.bin`, new Uint8Array(4097)), 413);
    expect(over.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(existsSync(file("over.bin"))).toBe(false);
    await expectJson(call(keys.three, "PUT", `/v1/threads/${thread}/files/at.bin`, new Uint8Array(4096)), 201);
    expect(existsSync(file("at.bin"))).toBe(true);
  });
});
