import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ExecResult,
  ExecResultSchema,
  type ExecutionRecord,
  ExecutionRecordSchema,
  type RunPythonResponse,
  RunPythonResponseSchema,
  ThreadStateSchema,
} from "../../shared/src/index.ts";
import { type ErrorJson, createThread, expectJson, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// The public API end to end: the run_python tool, exec, run_code, thread state, execution history, files,
// validation and deletion, through the worker in workerd and a real runtime.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const workspaceDir = (thread: string) => path.join(stack.runtime.workspaces, stack.tenants.a.name, thread);

async function runPythonTool(body: Record<string, unknown>): Promise<RunPythonResponse> {
  return RunPythonResponseSchema.parse(await expectJson(stack.api("POST", "/v1/tools/run_python", { body }), 200));
}

async function exec(thread: string, body: Record<string, unknown>): Promise<ExecResult> {
  return ExecResultSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/exec`, { body }), 200));
}

describe("POST /v1/tools/run_python (the tool's exact bodies)", () => {
  let sandbox: string;
  beforeAll(async () => {
    sandbox = await createThread(stack, randomUUID());
  });

  it("runs the simple script", async () => {
    const r = await runPythonTool({
      sandbox_id: sandbox,
      code: "print('Hello, World!')\nprint(f'2 + 2 = {2 + 2}')",
    });
    expect(r.is_error).toBe(false);
    expect(r.text).toContain("Hello, World!");
    expect(r.metadata).toMatchObject({
      language: "python",
      exit_code: 0,
      stdout: "Hello, World!\n2 + 2 = 4\n",
      stderr: "",
      timed_out: false,
      packages_installed: [],
    });
    expect(r.metadata.python_version).toMatch(/^3\.\d+\.\d+/);
    expect(r.metadata.execution_id).toMatch(/^ex_/);
    expect(r.metadata.error_code).toBeUndefined();
  });

  it("runs the multi-file project, writing `files` first", async () => {
    const r = await runPythonTool({
      sandbox_id: sandbox,
      code: "from calculator import Calculator\nfrom data_processor import process_data\n\ncalc = Calculator()\nresult = calc.add(10, 5)\nprint(f'10 + 5 = {result}')\n\ndata = [1, 2, 3, 4, 5]\nprocessed = process_data(data)\nprint(f'Processed data: {processed}')",
      files: {
        "calculator.py": "class Calculator:\n    def add(self, a, b):\n        return a + b\n    \n    def multiply(self, a, b):\n        return a * b",
        "data_processor.py": "def process_data(data):\n    return [x * 2 for x in data]",
      },
    });
    expect(r.is_error).toBe(false);
    expect(r.metadata.stdout).toBe("10 + 5 = 15\nProcessed data: [2, 4, 6, 8, 10]\n");
    expect(r.metadata.files_created).toEqual(expect.arrayContaining(["calculator.py", "data_processor.py"]));
    // The files stay in the thread's workspace, readable through the file API.
    const res = await stack.api("GET", `/v1/threads/${sandbox}/files/calculator.py`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("class Calculator:");
  });

  it("feeds stdin to the interactive example", async () => {
    const r = await runPythonTool({
      sandbox_id: sandbox,
      code: "name = input('Enter your name: ')\nage = int(input('Enter your age: '))\ncity = input('Enter your city: ')\n\nprint(f'Hello {name}!')\nprint(f'You are {age} years old and live in {city}.')\n\nif age >= 18:\n    print('You are an adult.')\nelse:\n    print(f'You will be an adult in {18 - age} years.')",
      stdin: "Alice\n25\nNew York\n",
    });
    expect(r.is_error).toBe(false);
    expect(r.metadata.stdout).toContain("Hello Alice!\nYou are 25 years old and live in New York.\nYou are an adult.\n");
  });

  it("reports a syntax error as PYTHON_SYNTAX_ERROR at the user's line", async () => {
    const r = await runPythonTool({ sandbox_id: sandbox, code: "x = 1\ny = 2\nif x == y print(x)\n" });
    expect(r.is_error).toBe(true);
    expect(r.metadata).toMatchObject({ error_code: "PYTHON_SYNTAX_ERROR", error_type: "SyntaxError", error_line: 3 });
    expect(r.metadata.exit_code).not.toBe(0);
  });

  it("reports a runtime error with its type and the line in the user's code", async () => {
    const r = await runPythonTool({ sandbox_id: sandbox, code: "a = 1\nb = 0\nprint('before')\nprint(a / b)\n" });
    expect(r.is_error).toBe(true);
    expect(r.text).toContain("ZeroDivisionError");
    expect(r.metadata).toMatchObject({
      exit_code: 1,
      stdout: "before\n",
      error_type: "ZeroDivisionError",
      error_line: 4,
      error_code: "RUNTIME_ERROR",
      timed_out: false,
    });
  });

  it("stops `while True: pass` at timeout 1 with EXECUTION_TIMEOUT", async () => {
    const started = Date.now();
    const r = await runPythonTool({ sandbox_id: sandbox, code: "while True: pass", timeout: 1 });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.is_error).toBe(true);
    expect(r.metadata).toMatchObject({ timed_out: true, error_code: "EXECUTION_TIMEOUT" });
  });

  it("creates a sandbox that was never created on first use, and answers 400 for a non-UUID sandbox_id", async () => {
    const sandbox = randomUUID();
    await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${sandbox}`), 404);
    const first = await expectJson<RunPythonResponse>(stack.api("POST", "/v1/tools/run_python", { body: { sandbox_id: sandbox, code: "print(1)" } }), 200);
    expect(first.text).toBe("1");
    await expectJson(stack.api("GET", `/v1/threads/${sandbox}`), 200);
    const bad = await expectJson<ErrorJson>(
      stack.api("POST", "/v1/tools/run_python", { body: { sandbox_id: "not-a-uuid", code: "print(1)" } }),
      400,
    );
    expect(bad.error.code).toBe("VALIDATION_FAILED");
  });
});

describe("exec, run_code, thread state and execution history", () => {
  it("answers exec with the JSON result", async () => {
    const thread = await createThread(stack, uniqueId("exec"));
    const r = await exec(thread, { command: "echo out; echo err >&2; pwd; exit 3" });
    expect(r).toMatchObject({ exit_code: 3, stdout: "out\n/\n", stderr: "err\n", timed_out: false, canceled: false, truncated: false });
    expect(r.execution_id).toMatch(/^ex_/);
    const stdin = await exec(thread, { command: "read a; echo got $a", stdin: "hello\n" });
    expect(stdin.stdout).toBe("got hello\n");
  });

  it("runs run_code for python and bash", async () => {
    const thread = await createThread(stack, uniqueId("runcode"));
    const py = RunPythonResponseSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/run_code`, { body: { language: "python", code: "import sys\nprint(sys.version_info[0] * 14)" } }), 200),
    );
    expect(py.is_error).toBe(false);
    expect(py.metadata.stdout).toBe("42\n");
    // The call's limits reach the run, as they do for run_python itself.
    const code = "import resource\nprint(resource.getrlimit(resource.RLIMIT_NOFILE)[0])";
    const limited = RunPythonResponseSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/run_code`, { body: { language: "python", code, limits: { open_files: 77 } } }), 200),
    );
    expect(limited.metadata.stdout).toBe("77\n");
    const sh = ExecResultSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/run_code`, { body: { language: "bash", code: "x=6; echo $((x * 7))" } }), 200),
    );
    expect(sh).toMatchObject({ exit_code: 0, stdout: "42\n" });
  });

  it("returns a tkinter window's screenshot through the worker (run_code python, capture_screenshot)", async () => {
    const thread = await createThread(stack, uniqueId("gui"));
    const code = `import tkinter as tk\nroot = tk.Tk()\ntk.Label(root, text="hello", font=("Helvetica", 40), bg="yellow").pack()\nroot.after(800, root.destroy)\nroot.mainloop()\nprint("done")`;
    const body = { language: "python", code, capture_screenshot: true };
    const r = RunPythonResponseSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/run_code`, { body }), 200));
    expect(r.metadata.stdout).toBe("done\n");
    const shot = r.displays?.find((d) => d.source === "screenshot");
    expect(shot?.mime).toBe("image/png");
    const png = Buffer.from(shot?.data ?? "", "base64");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    // Width and height from the IHDR chunk: the thread's whole virtual screen.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1280, 800]);
  });

  it("shows the thread: workspace configured and counts", async () => {
    const thread = await createThread(stack, uniqueId("state"));
    await exec(thread, { command: "true" });
    await exec(thread, { command: "false" });
    const state = ThreadStateSchema.parse(await expectJson(stack.api("GET", `/v1/threads/${thread}`), 200));
    expect(state.id).toBe(thread);
    expect(state.workspace).toMatchObject({ configured: true });
    expect(state.workspace?.python_version).toMatch(/^3\.\d+/);
    expect(state.workspace?.virtual_env).toBeTruthy();
    expect(state.counts).toEqual({ executions: 2, running: 0, queued: 0 });
    expect(Date.parse(state.last_active_at)).toBeGreaterThanOrEqual(Date.parse(state.created_at));
  });

  it("lists executions newest first with status, exit code and summary, and shows one", async () => {
    const thread = await createThread(stack, uniqueId("history"));
    const first = await exec(thread, { command: "echo one" });
    const second = await exec(thread, { command: "echo two; exit 3" });
    const third = RunPythonResponseSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/run_python`, { body: { code: "print('three')\nprint(3)" } }), 200),
    );
    const list = await expectJson<{ executions: ExecutionRecord[] }>(stack.api("GET", `/v1/threads/${thread}/executions`), 200);
    const records = list.executions.map((e) => ExecutionRecordSchema.parse(e));
    expect(records.map((r) => r.id)).toEqual([third.metadata.execution_id, second.execution_id, first.execution_id]);
    expect(records[0]).toMatchObject({ kind: "run_python", status: "succeeded", exit_code: 0, summary: "print('three')", stdout_tail: "three\n3\n" });
    expect(records[1]).toMatchObject({ kind: "exec", status: "failed", exit_code: 3, summary: "echo two; exit 3", stdout_tail: "two\n" });
    expect(records[2]).toMatchObject({ kind: "exec", status: "succeeded", exit_code: 0, summary: "echo one", stdout_tail: "one\n" });
    const one = ExecutionRecordSchema.parse(
      await expectJson(stack.api("GET", `/v1/threads/${thread}/executions/${first.execution_id}`), 200),
    );
    expect(one).toEqual(records[2]);
    expect(one.started_at).not.toBeNull();
    expect(one.finished_at).not.toBeNull();
    const missing = await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${thread}/executions/ex_nope`), 404);
    expect(missing.error.code).toBe("EXECUTION_NOT_FOUND");
  });
});

describe("files through the worker", () => {
  it("round-trips raw bytes (non-UTF-8 included), lists a directory and deletes", async () => {
    const thread = await createThread(stack, uniqueId("files"));
    const bytes = new Uint8Array(512);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 255) % 256; // every byte value, 0xff first
    const put = await expectJson<{ path: string; size: number }>(
      stack.api("PUT", `/v1/threads/${thread}/files/data/blob.bin`, { raw: bytes }),
      201,
    );
    expect(put).toEqual({ path: "data/blob.bin", size: 512 });
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/data/note%20one.txt`, { raw: "héllo\n" }), 201);

    const get = await stack.api("GET", `/v1/threads/${thread}/files/data/blob.bin`);
    expect(get.status).toBe(200);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(bytes);

    // The sandbox sees the same bytes, and what the sandbox writes comes back out.
    const seen = await exec(thread, { command: "od -An -tx1 -N4 data/blob.bin | tr -d ' \\n'; echo; printf '\\x80\\x81' > /workspace/out.bin" });
    expect(seen.stdout).toBe("ff060d14\n");
    const out = await stack.api("GET", `/v1/threads/${thread}/files/out.bin`);
    expect(new Uint8Array(await out.arrayBuffer())).toEqual(new Uint8Array([0x80, 0x81]));

    const list = await expectJson<{ path: string; entries: { path: string; name: string; type: string; size: number }[] }>(
      stack.api("GET", `/v1/threads/${thread}/files?path=data`),
      200,
    );
    expect(list.path).toBe("data");
    expect(list.entries.map((e) => [e.path, e.type, e.size]).sort()).toEqual([
      ["data/blob.bin", "file", 512],
      ["data/note one.txt", "file", Buffer.byteLength("héllo\n")],
    ]);

    await expectJson(stack.api("DELETE", `/v1/threads/${thread}/files/data/blob.bin`), 200);
    const gone = await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${thread}/files/data/blob.bin`), 404);
    expect(gone.error.code).toBe("FILE_NOT_FOUND");
    expect(existsSync(path.join(workspaceDir(thread), "data", "blob.bin"))).toBe(false);
    expect(existsSync(path.join(workspaceDir(thread), "data", "note one.txt"))).toBe(true);
  });

  it("refuses traversal (encoded `..`, `%2e%2e`, NUL) with 400/404 and never serves host content", async () => {
    const thread = await createThread(stack, uniqueId("traverse"));
    const attempts = [
      "files/..%2F..%2Fetc%2Fpasswd",
      "files/..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
      "files/%2e%2e%2F%2e%2e%2Fetc%2Fpasswd",
      "files/%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
      "files/a%2F%2e%2e%2F%2e%2e%2F%2e%2e%2Fetc%2Fpasswd",
      // Double-encoded: decoded once, it names a file called "%2e%2e%2F..." inside the workspace (404).
      "files/%252e%252e%252F%252e%252e%252Fetc%252Fpasswd",
      "files/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "files/../../../../etc/passwd",
      "files/..%5C..%5Cetc%5Cpasswd",
      "files/etc%00passwd",
      "files/%2Fetc%2Fpasswd",
      "files?path=..%2F..%2F..",
      "files?path=%2e%2e",
      "files?path=%2Fetc",
    ];
    for (const attempt of attempts) {
      const res = await stack.api("GET", `/v1/threads/${thread}/${attempt}`);
      const text = await res.text();
      expect([400, 404], `${attempt} → ${res.status} ${text}`).toContain(res.status);
      expect(text, attempt).not.toMatch(/root:.*:0:0:/);
      expect(text, attempt).not.toContain("passwd\",\"type");
      const body = JSON.parse(text) as ErrorJson;
      expect(["INVALID_PATH", "FILE_NOT_FOUND", "NOT_FOUND", "THREAD_NOT_FOUND"], attempt).toContain(body.error.code);
    }
    // The plain `..%2F` forms are named as bad paths, not merely missing.
    for (const attempt of attempts.slice(0, 5)) {
      const res = await stack.api("GET", `/v1/threads/${thread}/${attempt}`);
      expect((await expectJson<ErrorJson>(res, 400)).error.code, attempt).toBe("INVALID_PATH");
    }
    // Writes and deletes through traversal are refused too, and nothing lands outside the workspace.
    const before = await readdir(path.dirname(workspaceDir(thread)));
    for (const attempt of ["files/..%2Fescaped.txt", "files/%2e%2e%2F%2e%2e%2Fescaped.txt", "files/x%00y"]) {
      const put = await stack.api("PUT", `/v1/threads/${thread}/${attempt}`, { raw: "nope" });
      expect(put.status, attempt).toBe(400);
      const del = await stack.api("DELETE", `/v1/threads/${thread}/${attempt}`);
      expect(del.status, attempt).toBe(400);
    }
    expect(await readdir(path.dirname(workspaceDir(thread)))).toEqual(before);
    expect(existsSync(path.join(stack.runtime.workspaces, "escaped.txt"))).toBe(false);
    expect(existsSync(path.join(stack.runtime.workspaces, stack.tenants.a.name, "escaped.txt"))).toBe(false);
  });
});

describe("validation and unknown routes", () => {
  it("answers invalid JSON with 400 INVALID_JSON", async () => {
    const thread = await createThread(stack, uniqueId("json"));
    const body = await expectJson<ErrorJson>(stack.api("POST", `/v1/threads/${thread}/exec`, { raw: '{"command": "echo hi",' }), 400);
    expect(body.error.code).toBe("INVALID_JSON");
    expect(body.error.request_id).toBeTruthy();
    const tool = await expectJson<ErrorJson>(stack.api("POST", "/v1/tools/run_python", { raw: "not json" }), 400);
    expect(tool.error.code).toBe("INVALID_JSON");
  });

  it("answers a schema violation (timeout 301) with 400 VALIDATION_FAILED and the zod issues", async () => {
    const thread = await createThread(stack, randomUUID());
    for (const [route, body] of [
      [`/v1/threads/${thread}/exec`, { command: "echo hi", timeout: 301 }],
      ["/v1/tools/run_python", { sandbox_id: thread, code: "print(1)", timeout: 301 }],
      [`/v1/threads/${thread}/run_python`, { code: "print(1)", timeout: 301 }],
    ] as const) {
      const res = await expectJson<ErrorJson>(stack.api("POST", route, { body }), 400);
      expect(res.error.code, route).toBe("VALIDATION_FAILED");
      expect(res.error.message, route).toContain("timeout");
      const issues = res.error.details as { path: unknown[]; message: string }[];
      expect(Array.isArray(issues), route).toBe(true);
      expect(issues.some((i) => i.path.join(".") === "timeout"), route).toBe(true);
    }
    const unknownField = await expectJson<ErrorJson>(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "x", shell: "zsh" } }), 400);
    expect(unknownField.error.code).toBe("VALIDATION_FAILED");
    // Nothing ran.
    const list = await expectJson<{ executions: unknown[] }>(stack.api("GET", `/v1/threads/${thread}/executions`), 200);
    expect(list.executions).toEqual([]);
  });

  it("answers an unknown route with 404 NOT_FOUND in the error shape", async () => {
    for (const [method, route] of [
      ["GET", "/v1/nope"],
      ["POST", "/v1/threads/x/nope"],
      ["GET", "/v2/threads"],
    ] as const) {
      const res = await stack.api(method, route);
      const body = await expectJson<ErrorJson>(res, 404);
      expect(body.error.code).toBe("NOT_FOUND");
      expect(typeof body.error.message).toBe("string");
      expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
    }
  });
});

describe("threads created on first use", () => {
  it("an execution, a file write or a new context on an unknown id creates the thread; reads of one are 404", async () => {
    const unknown = uniqueId("first-none");
    for (const route of ["", "/files?path=", "/files/a.txt", "/executions", "/contexts"]) {
      const res = await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${unknown}${route}`), 404);
      expect(res.error.code, route).toBe("THREAD_NOT_FOUND");
    }
    expect(existsSync(workspaceDir(unknown))).toBe(false);

    const [ran, wrote, ctx] = [uniqueId("first-exec"), uniqueId("first-put"), uniqueId("first-ctx")];
    expect((await exec(ran, { command: "echo made" })).stdout).toBe("made\n");
    await expectJson(stack.api("PUT", `/v1/threads/${wrote}/files/a.txt`, { raw: "made" }), 201);
    expect(await (await stack.api("GET", `/v1/threads/${wrote}/files/a.txt`)).text()).toBe("made");
    const context = await expectJson<{ id: string }>(stack.api("POST", `/v1/threads/${ctx}/contexts`, { body: { language: "python" } }), 201);
    const cell = await expectJson<{ result: Record<string, string> }>(stack.api("POST", `/v1/threads/${ctx}/contexts/${context.id}/run`, { body: { code: "6 * 7" } }), 200);
    expect(cell.result["text/plain"]).toBe("42");
    for (const id of [ran, wrote, ctx]) await expectJson(stack.api("GET", `/v1/threads/${id}`), 200);
    // POST /v1/threads stays for settings, and a conflict for an id in use.
    const exists = await expectJson<ErrorJson>(stack.api("POST", "/v1/threads", { body: { id: ran } }), 409);
    expect(exists.error.code).toBe("THREAD_EXISTS");
  });

  it("calls racing on a new id create one thread and all succeed", async () => {
    const id = uniqueId("first-race");
    const answers = await Promise.all([
      stack.api("PUT", `/v1/threads/${id}/files/a.txt`, { raw: "a" }),
      stack.api("POST", `/v1/threads/${id}/exec`, { body: { command: "echo ran" } }),
      stack.api("PUT", `/v1/threads/${id}/files/b.txt`, { raw: "b" }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([201, 200, 201]);
    const listed = await expectJson<{ entries: { path: string }[] }>(stack.api("GET", `/v1/threads/${id}/files?path=`), 200);
    expect(listed.entries.map((e) => e.path)).toEqual(expect.arrayContaining(["a.txt", "b.txt"]));
    const state = await expectJson<{ counts: { executions: number } }>(stack.api("GET", `/v1/threads/${id}`), 200);
    expect(state.counts.executions).toBe(1);
  });
});

describe("DELETE /v1/threads/:thread", () => {
  it("deletes the thread and its workspace on the host", async () => {
    const thread = await createThread(stack, uniqueId("delete"));
    await exec(thread, { command: "echo keep > kept.txt" });
    expect(existsSync(path.join(workspaceDir(thread), "kept.txt"))).toBe(true);
    expect(await expectJson(stack.api("DELETE", `/v1/threads/${thread}`), 200)).toEqual({ id: thread, deleted: true });
    const after = await expectJson<ErrorJson>(stack.api("GET", `/v1/threads/${thread}`), 404);
    expect(after.error.code).toBe("THREAD_NOT_FOUND");
    expect(existsSync(workspaceDir(thread))).toBe(false);
    const again = await expectJson<ErrorJson>(stack.api("DELETE", `/v1/threads/${thread}`), 404);
    expect(again.error.code).toBe("THREAD_NOT_FOUND");
    // The id can be used again, starting empty: the next execution creates a new thread.
    const fresh = await exec(thread, { command: "ls kept.txt 2>&1 || echo absent" });
    expect(fresh.stdout).toContain("absent");
    const state = await expectJson<{ counts: { executions: number } }>(stack.api("GET", `/v1/threads/${thread}`), 200);
    expect(state.counts.executions).toBe(1);
  });
});
