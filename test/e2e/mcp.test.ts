import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PackageIndex, startPackageIndex } from "../runtime/package-index.ts";
import { REPO } from "./client-stack.ts";
import { type ErrorJson, expectJson, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// The MCP server of the worker with the official MCP TypeScript client (Client + StreamableHTTPClientTransport),
// against the whole stack: every tool, figures as images, failures as tool errors, progress while a run goes, keys
// and tokens; and the README's MCP program and client configuration, as written.

const PNG = "iVBORw0KGgo"; // base64 of a PNG's signature
const run = promisify(execFile);
let stack: Stack;
let index: PackageIndex;
let client: Client;

async function connect(credential: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL("/mcp", stack.worker.url), {
    requestInit: { headers: { Authorization: `Bearer ${credential}` } },
  });
  const c = new Client({ name: "threadbox-e2e", version: "1.0.0" });
  await c.connect(transport);
  return c;
}

type Progress = { progress: number; message?: string };
async function call(c: Client, name: string, args: Record<string, unknown>, onprogress?: (p: Progress) => void): Promise<CallToolResult> {
  return (await c.callTool({ name, arguments: args }, undefined, onprogress ? { onprogress, timeout: 120_000 } : { timeout: 120_000 })) as CallToolResult;
}

const text = (r: CallToolResult) => (r.content[0]?.type === "text" ? r.content[0].text : "");
const images = (r: CallToolResult) => r.content.flatMap((c) => (c.type === "image" ? [c] : []));

beforeAll(async () => {
  index = await startPackageIndex([{ name: "tbx-mcp", version: "1.0.0" }]);
  stack = await startStack({ runtime: { PIP_INDEX_URL: index.url } });
  client = await connect(stack.tenants.a.key);
});
afterAll(async () => {
  await client?.close();
  await stack?.stop();
  await index?.stop();
});

describe("tools", () => {
  it("lists them and each one does its work", { timeout: 180_000 }, async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ["create_context", "create_thread", "exec", "install_packages", "list_files", "process_logs", "read_file", "restart_context", "run_cell", "run_code", "run_jupyter", "run_python", "start_process", "write_file"],
    );
    const sandbox_id = randomUUID();

    const py = await call(client, "run_python", { sandbox_id, code: "print(6 * 7)" });
    expect({ text: text(py), isError: py.isError }).toEqual({ text: "42", isError: false });
    expect(py.structuredContent).toMatchObject({ is_error: false, metadata: { exit_code: 0, stdout: "42\n" } });
    const js = await call(client, "run_code", { sandbox_id, language: "typescript", code: "const n: number = 7; console.log(n * 6)" });
    expect(text(js)).toBe("exit_code: 0\nstdout:\n42");
    const sh = await call(client, "exec", { sandbox_id, command: "echo out; echo err >&2; exit 2" });
    expect({ text: text(sh), isError: sh.isError }).toEqual({ text: "exit_code: 2\nstdout:\nout\nstderr:\nerr", isError: true });

    const installed = await call(client, "install_packages", { sandbox_id, packages: ["tbx-mcp"] });
    expect({ text: text(installed), isError: installed.isError }).toEqual({ text: "installed: tbx-mcp==1.0.0", isError: false });
    expect(text(await call(client, "run_python", { sandbox_id, code: "import tbx_mcp\nprint(tbx_mcp.hello())" }))).toBe("hello from tbx-mcp 1.0.0");

    const ctx = await call(client, "create_context", { sandbox_id, language: "python" });
    const context_id = (ctx.structuredContent as { id: string }).id;
    expect(text(ctx)).toContain(context_id);
    await call(client, "run_cell", { sandbox_id, context_id, code: "total = 40" });
    const cell = await call(client, "run_cell", { sandbox_id, context_id, code: "total + 2" });
    expect({ text: text(cell), isError: cell.isError }).toEqual({ text: "result: 42", isError: false });
    const restarted = await call(client, "restart_context", { sandbox_id, context_id });
    expect({ id: (restarted.structuredContent as { id: string }).id, isError: restarted.isError }).toEqual({ id: context_id, isError: false });
    expect(text(restarted)).toContain("restarted");
    const after = await call(client, "run_cell", { sandbox_id, context_id, code: "total" });
    expect({ text: text(after), isError: after.isError }).toMatchObject({ text: expect.stringContaining("NameError"), isError: true });
    const notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: "code", metadata: {}, source: "6 * 7", execution_count: null, outputs: [] }] };
    const nb = await call(client, "run_jupyter", { sandbox_id, notebook });
    expect({ text: text(nb), isError: nb.isError }).toEqual({ text: "1 cell(s) run, 0 not run", isError: false });
    expect(nb.structuredContent).toMatchObject({ ok: true, cells: [{ index: 0, outputs: [{ output_type: "execute_result", data: { "text/plain": "42" } }] }] });

    expect(text(await call(client, "write_file", { sandbox_id, path: "notes/a.txt", content: "hello\n" }))).toBe("wrote notes/a.txt (6 bytes)");
    expect(text(await call(client, "read_file", { sandbox_id, path: "notes/a.txt" }))).toBe("hello\n");
    const bytes = Buffer.from([0, 159, 146, 150, 255, 1]);
    await call(client, "write_file", { sandbox_id, path: "notes/blob.bin", content_base64: bytes.toString("base64") });
    const blob = await call(client, "read_file", { sandbox_id, path: "notes/blob.bin" });
    expect(blob.content[1]).toMatchObject({
      type: "resource",
      resource: { uri: `threadbox://threads/${sandbox_id}/files/notes/blob.bin`, blob: bytes.toString("base64") },
    });
    const listed = await call(client, "list_files", { sandbox_id, path: "notes" });
    expect(text(listed)).toBe("file notes/a.txt (6 bytes)\nfile notes/blob.bin (6 bytes)");
    expect((listed.structuredContent as { entries: unknown[] }).entries).toHaveLength(2);

    const fresh = uniqueId("mcp-created");
    const created = await call(client, "create_thread", { sandbox_id: fresh, network: "none" });
    expect(created.structuredContent).toMatchObject({ id: fresh });
    const offline = await call(client, "exec", { sandbox_id: fresh, command: "python3 -c \"import socket; socket.create_connection(('127.0.0.1', 9), 2)\"" });
    expect(offline.isError).toBe(true);
    expect(text(await call(client, "create_thread", { sandbox_id: fresh }))).toBe(`THREAD_EXISTS: thread ${fresh} already exists`);
  });

  it("returns a matplotlib figure as image content: drawn in a cell, or saved and read", async () => {
    const sandbox_id = uniqueId("mcp-figure");
    const ctx = await call(client, "create_context", { sandbox_id });
    const context_id = (ctx.structuredContent as { id: string }).id;
    const cell = await call(client, "run_cell", { sandbox_id, context_id, code: "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.show()\n3 * 3" });
    expect(text(cell)).toBe("result: 9");
    expect(images(cell).map((i) => i.mimeType)).toEqual(["image/png"]);
    expect(images(cell)[0]?.data.startsWith(PNG)).toBe(true);
    expect(cell.structuredContent).toMatchObject({ ok: true, displays: [{ mime: "image/png", source: "figure" }] });

    const sandbox = randomUUID();
    const saved = await call(client, "run_python", { sandbox_id: sandbox, code: "import matplotlib.pyplot as plt\nplt.plot([3, 1, 2])\nplt.savefig('chart.png')\nprint('saved')" });
    expect(text(saved)).toBe("saved\nfiles created or changed: chart.png");
    const read = await call(client, "read_file", { sandbox_id: sandbox, path: "chart.png" });
    expect(text(read)).toMatch(/^chart\.png \(image\/png, \d+ bytes\)$/);
    expect(images(read).map((i) => i.mimeType)).toEqual(["image/png"]);
    expect(images(read)[0]?.data.startsWith(PNG)).toBe(true);
  });

  it("returns a failing script as isError with its error type and line", async () => {
    const failed = await call(client, "run_python", { sandbox_id: randomUUID(), code: "x = 1\nprint('before')\nprint(x / 0)" });
    expect(failed.isError).toBe(true);
    expect(failed.structuredContent).toMatchObject({
      is_error: true,
      metadata: { error_type: "ZeroDivisionError", error_line: 3, exit_code: 1, stdout: "before\n" },
    });
    expect(text(failed)).toContain("ZeroDivisionError");
    expect(text(failed)).toContain("error: ZeroDivisionError, line 3");
    expect(text(failed)).toContain("stdout:\nbefore");
  });
});

describe("progress", () => {
  it("streams the output while a long run goes: the run waits for a file the test writes when it sees the progress", { timeout: 90_000 }, async () => {
    const sandbox_id = uniqueId("mcp-progress");
    const seen: Progress[] = [];
    let released: Promise<CallToolResult> | undefined;
    // Bounded: 600 polls of 0.05 s; it can only print "released" if the progress arrived while it ran.
    const command = "echo waiting; for i in $(seq 1 600); do if [ -f go ]; then echo released; break; fi; sleep 0.05; done; echo done";
    const result = await call(client, "exec", { sandbox_id, command, timeout: 60 }, (p) => {
      seen.push(p);
      if (!released && p.message?.includes("waiting")) released = call(client, "write_file", { sandbox_id, path: "go", content: "" });
    });
    expect(released).toBeDefined();
    expect((await released)?.isError).toBe(false);
    expect(result.structuredContent).toMatchObject({ exit_code: 0, stdout: "waiting\nreleased\ndone\n" });
    expect(seen[0]?.message).toBe("waiting\n");
    for (let i = 1; i < seen.length; i++) expect(seen[i]?.progress).toBeGreaterThan(seen[i - 1]?.progress ?? Infinity);
  });
});

describe("credentials", () => {
  it("refuses a wrong key: 401 before any message, and the official client does not connect", async () => {
    await expect(connect("tbx_a_wrong")).rejects.toMatchObject({ code: 401 });
    const res = await fetch(`${stack.worker.url}/mcp`, {
      method: "POST",
      headers: { authorization: "Bearer tbx_a_wrong", "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: "{ not even json",
    });
    expect((await expectJson<ErrorJson>(res, 401)).error.code).toBe("UNAUTHORIZED");
  });

  it("limits a thread token to its thread", async () => {
    const thread = uniqueId("mcp-token");
    expect((await call(client, "write_file", { sandbox_id: thread, path: "marker.txt", content: "mine" })).isError).toBe(false);
    const minted = await expectJson<{ token: string }>(stack.api("POST", "/v1/tokens", { body: { thread } }), 201);
    const scoped = await connect(minted.token);
    try {
      expect((await scoped.listTools()).tools.map((t) => t.name)).not.toContain("create_thread");
      expect(text(await call(scoped, "exec", { command: "cat marker.txt" }))).toBe("exit_code: 0\nstdout:\nmine");
      expect(text(await call(scoped, "read_file", { sandbox_id: thread, path: "marker.txt" }))).toBe("mine");
      const other = uniqueId("mcp-token-other");
      const refused = await call(scoped, "exec", { sandbox_id: other, command: "echo intruder" });
      expect({ isError: refused.isError, text: text(refused) }).toEqual({ isError: true, text: `THREAD_NOT_FOUND: thread ${other} not found` });
      expect((await stack.api("GET", `/v1/threads/${other}`)).status).toBe(404);
      expect(text(await call(scoped, "create_thread", {}))).toMatch(/^FORBIDDEN: /);
    } finally {
      await scoped.close();
    }
  });
});

/** The README's "### MCP" subsection: its `javascript` program and its `json` client configuration. */
async function readmeMcp(): Promise<{ program: string; config: string }> {
  const readme = await readFile(path.join(REPO, "README.md"), "utf8");
  const start = readme.indexOf("### MCP");
  const section = readme.slice(start, readme.indexOf("\n### ", start + 1));
  const blocks = (lang: string) => [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1] as string);
  const [program, config] = [blocks("javascript"), blocks("json")];
  expect({ programs: program.length, configs: config.length }).toEqual({ programs: 1, configs: 1 });
  return { program: program[0] as string, config: config[0] as string };
}

describe("the README's MCP section", () => {
  it("its program runs as written with plain node, in a project with the MCP SDK installed", { timeout: 90_000 }, async () => {
    const project = await mkdtemp(path.join(os.tmpdir(), "tbx-mcp-readme-"));
    try {
      // As `npm install @modelcontextprotocol/sdk` leaves it (the SDK's own dependencies resolve from its real path).
      await mkdir(path.join(project, "node_modules"));
      await symlink(path.join(REPO, "node_modules", "@modelcontextprotocol"), path.join(project, "node_modules", "@modelcontextprotocol"));
      await writeFile(path.join(project, "mcp.mjs"), (await readmeMcp()).program);
      const env = { ...process.env, THREADBOX_URL: stack.worker.url, THREADBOX_API_KEY: stack.tenants.a.key };
      const { stdout } = await run(process.execPath, ["mcp.mjs"], { cwd: project, env, timeout: 80_000 });
      for (const line of [
        "run_python run_code exec install_packages create_context run_cell run_jupyter restart_context write_file read_file list_files start_process process_logs create_thread\n",
        "progress: step 1\n",
        "exit_code: 0\nstdout:\nstep 1\nstep 2\nstep 3\n",
        "[ 'text', 'image' ] result: 42\n",
        "true ZeroDivisionError 2\n",
      ]) {
        expect(stdout).toContain(line);
      }
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });

  it("its desktop client configuration connects (the key from the environment, as the client fills it in)", async () => {
    const { mcpServers } = JSON.parse((await readmeMcp()).config) as { mcpServers: { threadbox: { url: string; headers: Record<string, string> } } };
    const { url, headers } = mcpServers.threadbox;
    expect(url).toBe("http://127.0.0.1:8787/mcp");
    const filled = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k, v.replace(/\$\{env:(\w+)\}/g, (_, name: string) => (name === "THREADBOX_API_KEY" ? stack.tenants.a.key : ""))]),
    );
    // The stack's worker listens on a port of its own instead of npm start's 8787.
    const transport = new StreamableHTTPClientTransport(new URL(new URL(url).pathname, stack.worker.url), { requestInit: { headers: filled } });
    const desktop = new Client({ name: "desktop", version: "1.0.0" });
    await desktop.connect(transport);
    expect((await desktop.listTools()).tools).toHaveLength(14);
    await desktop.close();
  });
});
