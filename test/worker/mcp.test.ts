import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { RunPythonToolSchema, type ThreadState, sha256Hex } from "../../shared/src/index.ts";
import { app } from "../../worker/src/app.ts";
import { TEST_KEYS } from "./bindings.ts";
import { call, mcpClient, rawPost, textOf } from "./mcp-client.ts";
import { api, createThread, expectError, fakeRuntime, threadId } from "./thread-api.ts";

// POST /mcp through the whole worker with the official MCP client, against the stand-in runtime (exec and files
// only: what needs a real interpreter is in test/e2e/mcp.test.ts). MAX_BODY_BYTES is 4096 here.
const key = TEST_KEYS.acme;
const PING = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
type Schema = { type?: string; properties?: Record<string, { maximum?: number }>; required?: string[] };

async function mint(thread: string): Promise<string> {
  const res = await api("/v1/tokens", { method: "POST", body: { thread } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

const executions = async (thread: string) => ((await (await api(`/v1/threads/${thread}`)).json()) as ThreadState).counts.executions;

describe("credentials and limits", () => {
  it("refuses a missing or wrong key with 401 before reading any message; the official client fails to connect", async () => {
    for (const credential of [null, "tbk_not_a_key", "a.b.c"]) {
      const res = await rawPost(credential, "{ not json");
      expect(res.headers.get("WWW-Authenticate")).toContain("Bearer");
      await expectError(res, 401, "UNAUTHORIZED");
    }
    // With a key the same body is read, and refused as what it is.
    const read = await rawPost(key, "{ not json");
    expect(read.status).toBe(400);
    expect(await read.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32700 } });
    await expect(mcpClient("tbk_not_a_key")).rejects.toMatchObject({ code: 401, message: expect.stringContaining("UNAUTHORIZED") });
  });

  it("has no session stream or session to delete: GET and DELETE are 405 (after the credentials check)", async () => {
    for (const method of ["GET", "DELETE"]) {
      await expectError(await rawPost("tbk_not_a_key", "", undefined, method), 401, "UNAUTHORIZED");
      const res = await rawPost(key, "", undefined, method);
      expect(res.headers.get("Allow")).toBe("POST");
      await expectError(res, 405, "METHOD_NOT_ALLOWED");
    }
  });

  it("counts every POST against the key's rate limit, as the API does", async () => {
    const limitedKey = `tbk_mcp_rl_${crypto.randomUUID()}`;
    const limited = { ...env, API_KEYS: JSON.stringify({ [await sha256Hex(limitedKey)]: "mcp-rl" }), RATE_LIMIT_PER_MINUTE: "3", RATE_LIMIT_BURST: "3" };
    const fetcher = (url: string, init?: RequestInit) => Promise.resolve(app.request(url, init, limited));
    for (let i = 0; i < 3; i++) expect((await rawPost(limitedKey, PING, fetcher)).status).toBe(200);
    const res = await rawPost(limitedKey, PING, fetcher);
    expect(res.headers.get("Retry-After")).toBeTruthy();
    await expectError(res, 429, "RATE_LIMITED");
  });

  it("refuses a message over the body cap", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(5000) } });
    expect((await rawPost(key, big)).status).toBe(413);
  });
});

describe("GET /openapi.json", () => {
  it("documents /mcp: POST, and the 405 of GET and DELETE", async () => {
    const res = await exports.default.fetch("http://threadbox.test/openapi.json", { headers: { "CF-Connecting-IP": "203.0.113.20" } });
    const doc = (await res.json()) as { paths: Record<string, Record<string, { summary: string; responses: Record<string, { content: object }> }>> };
    expect(Object.keys(doc.paths["/mcp"] ?? {}).sort()).toEqual(["delete", "get", "post"]);
    expect(Object.keys(doc.paths["/mcp"]?.get?.responses ?? {})).toContain("405");
    expect(doc.paths["/mcp"]?.post?.summary).toContain("Streamable HTTP");
    expect(Object.keys(doc.paths["/mcp"]?.post?.responses["200"]?.content ?? {})).toEqual(["text/event-stream", "application/json"]);
  });
});

describe("tools/list", () => {
  it("lists the tools, with JSON Schemas generated from the API's zod schemas", async () => {
    const client = await mcpClient(key);
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(
      ["create_context", "create_thread", "exec", "install_packages", "list_files", "process_logs", "read_file", "restart_context", "run_cell", "run_code", "run_jupyter", "run_python", "start_process", "write_file"],
    );
    // run_python takes the run_python tool's body exactly (its sandbox_id described for the model).
    const runPython = structuredClone(byName.run_python?.inputSchema) as Schema & { properties: Record<string, { description?: string }> };
    expect(runPython.properties.sandbox_id?.description).toContain("UUID");
    delete runPython.properties.sandbox_id?.description;
    expect(runPython).toEqual(z.toJSONSchema(RunPythonToolSchema, { io: "input", target: "draft-7", unrepresentable: "any" }));
    const exec = byName.exec?.inputSchema as Schema;
    expect(exec.required).toEqual(["command", "sandbox_id"]);
    expect(exec.properties?.timeout?.maximum).toBe(300);
    expect((byName.exec?.outputSchema as Schema).required).toEqual(expect.arrayContaining(["exit_code", "stdout", "stderr"]));
    expect((byName.run_cell?.inputSchema as Schema).required).toEqual(["code", "context_id", "sandbox_id"]);
    expect(byName.run_code?.outputSchema).toBeUndefined();
    expect(byName.read_file?.annotations?.readOnlyHint).toBe(true);
    await client.close();
  });
});

describe("tools/call", () => {
  it("runs a command: its output as text, the full result as structured content; a failing command is isError", async () => {
    const client = await mcpClient(key);
    const sandbox_id = await createThread("mcp-exec");
    const ok = await call(client, "exec", { sandbox_id, command: "echo hi" });
    expect(ok.isError).toBe(false);
    expect(textOf(ok)).toBe("exit_code: 0\nstdout:\nhi");
    expect(ok.structuredContent).toMatchObject({ exit_code: 0, stdout: "hi\n", stderr: "", timed_out: false });
    const failed = await call(client, "exec", { sandbox_id, command: "nope" });
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toBe("exit_code: 127\nstderr:\nfake-runtime: nope: command not found");
    expect(await executions(sandbox_id)).toBe(2);
    await client.close();
  });

  it("streams the output as progress notifications while the command runs, when the client asks", async () => {
    const client = await mcpClient(key);
    const seen: { progress: number; message?: string }[] = [];
    const result = await call(client, "exec", { sandbox_id: threadId("mcp-progress"), command: "echo one; sleep 1; echo two" }, { onprogress: (p) => seen.push(p) });
    expect(seen[0]?.message).toBe("one\n");
    // The second line came a second later: a notification of its own.
    expect(seen.map((p) => p.message)).toEqual(["one\n", "two\n"]);
    expect(seen[1]?.progress).toBeGreaterThan(seen[0]?.progress ?? Infinity);
    expect(result.structuredContent).toMatchObject({ stdout: "one\ntwo\n" });
    await client.close();
  });

  it("returns every screenshot as image content, and only their kind in the structured result", async () => {
    const client = await mcpClient(key);
    const result = await call(client, "exec", { sandbox_id: threadId("mcp-shots"), command: "shot 2 100", capture_screenshot: true });
    const images = result.content.filter((c) => c.type === "image");
    expect(images.map((i) => i.mimeType)).toEqual(["image/png", "image/png"]);
    expect(images.map((i) => i.data.length)).toEqual([100, 100]);
    expect(images[0]?.data).not.toBe(images[1]?.data);
    expect(result.structuredContent?.displays).toEqual([
      { mime: "image/png", source: "screenshot" },
      { mime: "image/png", source: "screenshot" },
    ]);
    await client.close();
  });

  it("says in the text when capture_screenshot found no window with the title", async () => {
    const client = await mcpClient(key);
    const result = await call(client, "exec", { sandbox_id: threadId("mcp-nowin"), command: "nowindow Settings", capture_screenshot: { window: "Settings" } });
    expect(result.isError).toBe(false);
    expect(result.content.filter((c) => c.type === "image")).toEqual([]);
    expect(textOf(result)).toContain('no window titled "Settings" was on the screen');
    await client.close();
  });

  it("hands arguments the model got wrong back as a tool error naming the field; an unknown tool is a protocol error", async () => {
    const client = await mcpClient(key);
    const missing = await call(client, "exec", { sandbox_id: threadId("mcp-bad"), cmd: "ls" });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/^VALIDATION_FAILED: .*command/);
    const notUuid = await call(client, "run_python", { sandbox_id: "chat-1", code: "print(1)" });
    expect(textOf(notUuid)).toMatch(/^VALIDATION_FAILED: .*sandbox_id: sandbox_id must be a UUID/);
    const both = await call(client, "write_file", { sandbox_id: threadId("mcp-bad"), path: "a.txt", content: "x", content_base64: "eA==" });
    expect(textOf(both)).toMatch(/^VALIDATION_FAILED: .*exactly one/);
    const error = await client.callTool({ name: "rm_rf", arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32602);
    await client.close();
  });

  it("creates the thread on first use (an execution, a file write); a read of an unknown thread is THREAD_NOT_FOUND", async () => {
    const client = await mcpClient(key);
    const [ran, wrote, read] = [threadId("mcp-first"), threadId("mcp-first-file"), threadId("mcp-unknown")];
    expect((await call(client, "exec", { sandbox_id: ran, command: "echo first" })).isError).toBe(false);
    expect(await executions(ran)).toBe(1);
    const written = await call(client, "write_file", { sandbox_id: wrote, path: "/workspace/bin/x.dat", content_base64: "AAEC/w==" });
    expect(written.structuredContent).toEqual({ path: "bin/x.dat", size: 4 });
    expect(await fakeRuntime.calls(`/threads/acme/${wrote}/files`)).toEqual([`PUT /threads/acme/${wrote}/files/bin/x.dat`]);
    expect((await api(`/v1/threads/${wrote}`)).status).toBe(200);

    const missing = await call(client, "read_file", { sandbox_id: read, path: "a.txt" });
    expect({ isError: missing.isError, text: textOf(missing) }).toEqual({ isError: true, text: "THREAD_NOT_FOUND: no such thread" });
    await expectError(await api(`/v1/threads/${read}`), 404, "THREAD_NOT_FOUND");
    await client.close();
  });

  it("restart_context sends the context's restart to the thread's runtime; an unknown thread is THREAD_NOT_FOUND", async () => {
    const client = await mcpClient(key);
    const thread = await createThread("mcp-restart");
    const context_id = "ctx_0123456789abcdef0123";
    // The stand-in runtime has no contexts: its 404 comes back as the tool's error, after the call reached it.
    const res = await call(client, "restart_context", { sandbox_id: thread, context_id });
    expect(res.isError).toBe(true);
    expect(await fakeRuntime.calls(`/threads/acme/${thread}/contexts`)).toEqual([`POST /threads/acme/${thread}/contexts/${context_id}/restart`]);
    const unknown = await call(client, "restart_context", { sandbox_id: threadId("mcp-restart-none"), context_id });
    expect({ isError: unknown.isError, text: textOf(unknown) }).toEqual({ isError: true, text: "THREAD_NOT_FOUND: no such thread" });
    await client.close();
  });

  it("create_thread makes a thread with settings once; the same id again is THREAD_EXISTS", async () => {
    const client = await mcpClient(key);
    const sandbox_id = threadId("mcp-create");
    const created = await call(client, "create_thread", { sandbox_id, network: "none" });
    expect(created.structuredContent).toMatchObject({ id: sandbox_id, counts: { executions: 0 } });
    const again = await call(client, "create_thread", { sandbox_id });
    expect({ isError: again.isError, text: textOf(again) }).toEqual({ isError: true, text: `THREAD_EXISTS: thread ${sandbox_id} already exists` });
    const fresh = await call(client, "create_thread", {});
    expect((fresh.structuredContent as ThreadState).id).toMatch(/^[0-9a-f-]{36}$/);
    const strict = await call(client, "create_thread", { import_policy: { deny: ["socket"] } });
    expect((strict.structuredContent as ThreadState).import_policy).toEqual({ deny: ["socket"] });
    // Mounts as POST /v1/threads takes them: each must exist (the stand-in runtime keeps the tenant's in memory).
    const missing = await call(client, "create_thread", { mounts: [{ name: "mcp-never" }] });
    expect({ isError: missing.isError, text: textOf(missing) }).toMatchObject({ isError: true, text: expect.stringMatching(/^MOUNT_NOT_FOUND: no mount named mcp-never/) });
    expect((await api("/v1/mounts/mcp-skills/files/SKILL.md", { method: "PUT", body: "# s" })).status).toBe(201);
    const mounted = await call(client, "create_thread", { mounts: [{ name: "mcp-skills" }] });
    expect((mounted.structuredContent as ThreadState).mounts).toEqual([{ name: "mcp-skills", path: "/.skills/mcp-skills" }]);
    await client.close();
  });
});

describe("a thread token", () => {
  it("works in its own thread only: sandbox_id may be omitted, another id is THREAD_NOT_FOUND, create_thread is not its", async () => {
    const [mine, other] = [await createThread("mcp-tok"), await createThread("mcp-tok-other")];
    const client = await mcpClient(await mint(mine));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).not.toContain("create_thread");
    expect((tools.find((t) => t.name === "exec")?.inputSchema as Schema).required).toEqual(["command"]);

    expect(textOf(await call(client, "exec", { command: "echo implicit" }))).toBe("exit_code: 0\nstdout:\nimplicit");
    expect((await call(client, "exec", { sandbox_id: mine, command: "echo explicit" })).isError).toBe(false);
    expect(await executions(mine)).toBe(2);

    for (const sandbox_id of [other, threadId("mcp-tok-new")]) {
      const refused = await call(client, "exec", { sandbox_id, command: "echo intruder" });
      expect({ isError: refused.isError, text: textOf(refused) }).toEqual({ isError: true, text: `THREAD_NOT_FOUND: thread ${sandbox_id} not found` });
    }
    expect(await executions(other)).toBe(0);
    const create = await call(client, "create_thread", { sandbox_id: threadId("mcp-tok-create") });
    expect(textOf(create)).toMatch(/^FORBIDDEN: /);
    await client.close();
  });
});
