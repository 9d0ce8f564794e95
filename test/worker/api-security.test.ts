import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TEST_KEYS, WORKER_TEST_VARS } from "./bindings.ts";
import { api, createThread, expectError, fakeRuntime, threadId } from "./thread-api.ts";

// SECURITY.md's API cases that the edge decides alone: traversal in file routes, body caps, schema violations,
// another tenant's thread. Each checks the answer and that nothing reached the (stand-in) runtime.
const MAX_BODY = Number(WORKER_TEST_VARS.MAX_BODY_BYTES);

describe("file routes", () => {
  // `..` and `%2e%2e` as whole segments never arrive: URL parsing resolves them before routing (e2e covers that).
  // What arrives encoded inside a segment, or in the query, is decoded and checked here.
  const traversals = [
    "files/..%2Fescaped.txt",
    "files/a%2F..%2F..%2Fetc%2Fpasswd",
    "files/%2e%2e%2F%2e%2e%2Fetc%2Fpasswd",
    "files/%2E%2E%2Fetc",
    "files/..%5Cescaped.txt",
    "files/a%5Cb",
    "files/a%00b",
    "files/.%2Fa",
    "files/%E0%A4%A",
  ];

  it.each(["GET", "PUT", "DELETE"])("refuses every traversal form with 400 INVALID_PATH (%s), before the runtime", async (method) => {
    const id = await createThread("traverse");
    for (const attempt of traversals) {
      const res = await api(`/v1/threads/${id}/${attempt}`, { method, body: method === "PUT" ? "x" : undefined });
      const { error } = await expectError(res, 400, "INVALID_PATH");
      expect(error.message, attempt).not.toContain("root:");
    }
    for (const query of ["..", "..%2F..", "%2e%2e", "a%2F..%2F..", "a%00", "a%5Cb"]) {
      await expectError(await api(`/v1/threads/${id}/files?path=${query}`), 400, "INVALID_PATH");
    }
    expect(await fakeRuntime.calls(`/threads/acme/${id}/files`)).toEqual([]);
  });

  it("maps an absolute path into the workspace, never outside it", async () => {
    const id = await createThread("absolute");
    for (const attempt of ["files/%2Fetc%2Fpasswd", "files/%2Fworkspace%2Fetc%2Fpasswd"]) {
      await api(`/v1/threads/${id}/${attempt}`);
    }
    await api(`/v1/threads/${id}/files?path=%2Fetc`);
    expect(await fakeRuntime.calls(`/threads/acme/${id}/files`)).toEqual([
      `GET /threads/acme/${id}/files/etc/passwd`,
      `GET /threads/acme/${id}/files/etc/passwd`,
      `GET /threads/acme/${id}/files?path=etc`,
    ]);
  });
});

describe("body caps", () => {
  const put = (id: string, body: BodyInit) =>
    exports.default.fetch(`http://threadbox.test/v1/threads/${id}/files/big.bin`, {
      method: "PUT",
      headers: { authorization: `Bearer ${TEST_KEYS.acme}` },
      body,
    });

  it("accepts an upload at the cap and refuses one byte more with 413, declared or streamed", async () => {
    const id = await createThread("cap");
    const declared = await put(id, new Uint8Array(MAX_BODY + 1));
    await expectError(declared, 413, "PAYLOAD_TOO_LARGE");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let sent = 0; sent <= MAX_BODY; sent += 1024) controller.enqueue(new Uint8Array(1024));
        controller.close();
      },
    });
    await expectError(await put(id, stream), 413, "PAYLOAD_TOO_LARGE");
    expect(await fakeRuntime.calls(`/threads/acme/${id}/files`)).toEqual([]);
    // At the cap it is forwarded (the stand-in has no file routes: its 404 passes through).
    await put(id, new Uint8Array(MAX_BODY));
    expect(await fakeRuntime.calls(`/threads/acme/${id}/files`)).toEqual([`PUT /threads/acme/${id}/files/big.bin`]);
  });
});

describe("validation", () => {
  it("answers a schema violation with 400 VALIDATION_FAILED and zod's issues, naming each field", async () => {
    const id = await createThread("schema");
    const res = await api(`/v1/threads/${id}/exec`, { method: "POST", body: { command: 42, timeout: 301 } });
    const { error } = await expectError(res, 400, "VALIDATION_FAILED");
    const issues = error.details as { path: (string | number)[]; message: string }[];
    expect(issues.map((i) => i.path.join(".")).sort()).toEqual(["command", "timeout"]);
    await expectError(await api(`/v1/threads/${id}/exec`, { method: "POST", body: "[1," }), 400, "INVALID_JSON");
    expect(await fakeRuntime.calls(`/threads/acme/${id}/exec`)).toEqual([]);
  });
});

describe("tenants", () => {
  it("answers another tenant's thread byte for byte as before it existed (bar the request id)", async () => {
    const id = threadId("bytes");
    const answers = async () => {
      const out: { status: number; text: string }[] = [];
      // Reads and deletes: an execution or a write by beta would create beta's own thread of this id, leaving
      // acme's untouched (thread-first-use.test.ts).
      for (const [suffix, method] of [["", "GET"], ["/executions", "GET"], ["/files/a.txt", "GET"], ["", "DELETE"]] as const) {
        const res = await api(`/v1/threads/${id}${suffix}`, { tenant: "beta", method });
        out.push({ status: res.status, text: (await res.text()).replace(/"request_id":"[^"]*"/, "") });
      }
      return out;
    };
    const before = await answers();
    expect(before.map((a) => a.status)).toEqual([404, 404, 404, 404]);
    await api("/v1/threads", { method: "POST", body: { id } });
    expect(await answers()).toEqual(before);
  });
});
