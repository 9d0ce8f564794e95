import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunPythonParamsInput, type RunPythonResponse, RunPythonResponseSchema } from "../../shared/src/index.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

// The run_python tool, minus package installs (no network): output, error fields, files, stdin, limits.

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

const newThread = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

async function runPython(thread: string, params: RunPythonParamsInput): Promise<RunPythonResponse> {
  return RunPythonResponseSchema.parse(await rt.json("POST", `/threads/acme/${thread}/run_python`, params));
}

/** The error code of a call that must fail with `status`. */
async function failure(thread: string, body: unknown, status: number, raw?: string): Promise<string> {
  const res = await rt.call("POST", `/threads/acme/${thread}/run_python`, raw === undefined ? { body } : { raw });
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return (JSON.parse(text) as { error: { code: string } }).error.code;
}

describe("successful runs", () => {
  it("runs a simple script (the tool spec's example)", async () => {
    const r = await runPython(newThread("simple"), { code: "print('Hello, World!')\nprint(f'2 + 2 = {2 + 2}')" });
    expect(r.text).toBe("Hello, World!\n2 + 2 = 4");
    expect(r.is_error).toBe(false);
    expect(r.metadata).toMatchObject({
      language: "python",
      exit_code: 0,
      stdout: "Hello, World!\n2 + 2 = 4\n",
      stderr: "",
      timed_out: false,
      virtual_env: "/.venv",
      packages_installed: [],
    });
    expect(r.metadata.python_version).toMatch(/^3\./);
    expect(typeof r.metadata.duration).toBe("number");
    expect(r.metadata.error_code).toBeUndefined();
  });

  it("imports modules passed in `files` (multi-file project example)", async () => {
    const r = await runPython(newThread("multi"), {
      code:
        "from calculator import Calculator\nfrom data_processor import process_data\n\ncalc = Calculator()\n" +
        "result = calc.add(10, 5)\nprint(f'10 + 5 = {result}')\n\ndata = [1, 2, 3, 4, 5]\n" +
        "processed = process_data(data)\nprint(f'Processed data: {processed}')",
      files: {
        "calculator.py":
          "class Calculator:\n    def add(self, a, b):\n        return a + b\n    \n    def multiply(self, a, b):\n        return a * b",
        "data_processor.py": "def process_data(data):\n    return [x * 2 for x in data]",
      },
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.stdout).toBe("10 + 5 = 15\nProcessed data: [2, 4, 6, 8, 10]\n");
    expect(r.metadata.files_created).toEqual(expect.arrayContaining(["calculator.py", "data_processor.py"]));
  });

  it("feeds stdin to an interactive program", async () => {
    const r = await runPython(newThread("stdin"), {
      code:
        "name = input('Enter your name: ')\nage = int(input('Enter your age: '))\ncity = input('Enter your city: ')\n\n" +
        "print(f'Hello {name}!')\nprint(f'You are {age} years old and live in {city}.')\n\nif age >= 18:\n" +
        "    print('You are an adult.')\nelse:\n    print(f'You will be an adult in {18 - age} years.')",
      stdin: "Alice\n25\nNew York\n",
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.text).toContain("Hello Alice!");
    expect(r.text).toContain("You are 25 years old and live in New York.");
    expect(r.text).toContain("You are an adult.");
  });

  it("passes environment variables to the code", async () => {
    const r = await runPython(newThread("env"), {
      code: "import os\nprint(os.environ['GREETING'], os.environ['PYTHONUNBUFFERED'])",
      environment: { GREETING: "hej" },
    });
    expect(r.metadata.stdout).toBe("hej 1\n");
  });

  it("runs in working_dir, where `files` land too", async () => {
    const thread = newThread("wd");
    const r = await runPython(thread, {
      code:
        "import os\nfrom helper import NAME\nprint(os.getcwd())\nprint(os.path.samefile(os.getcwd(), '/workspace/proj'))\n" +
        "open('made-here.txt', 'w').write(NAME)",
      files: { "helper.py": "NAME = 'proj'\n" },
      working_dir: "/workspace/proj",
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    // The workspace is also `/` in the guest, so the subdirectory is `/proj` there.
    expect(r.metadata.stdout).toBe("/proj\nTrue\n");
    expect(r.metadata.files_created).toEqual(["proj/helper.py", "proj/made-here.txt"]);
    expect(await readFile(path.join(rt.workspaces, "acme", thread, "proj/made-here.txt"), "utf8")).toBe("proj");
  });

  it("reports files it created or modified, not untouched ones", async () => {
    const thread = newThread("created");
    for (const name of ["untouched.txt", "modified.txt"]) {
      const res = await rt.call("PUT", `/threads/acme/${thread}/files/${name}`, { raw: "before\n" });
      expect(res.status).toBe(201);
    }
    const r = await runPython(thread, {
      code: "open('out.txt', 'w').write('new')\nopen('modified.txt', 'a').write('after\\n')\nprint(open('untouched.txt').read())",
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.files_created).toEqual(["modified.txt", "out.txt"]);
  });

  it("uses the system interpreter when use_venv is \"false\"", async () => {
    const r = await runPython(newThread("novenv"), {
      code: "import sys\nprint(sys.prefix == sys.base_prefix, sys.executable)",
      options: { use_venv: "false" },
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.virtual_env).toBeNull();
    expect(r.metadata.python_version).toMatch(/^3\./);
    expect(r.metadata.stdout).toMatch(/^True \/usr\/bin\/python3/);
  });

  it("plots with matplotlib headless", async () => {
    const r = await runPython(newThread("plot"), {
      code:
        "import matplotlib\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [4, 5, 6])\nplt.savefig('plot.png')\n" +
        "print(matplotlib.get_backend())",
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.stdout.toLowerCase()).toBe("agg\n");
    expect(r.metadata.files_created).toContain("plot.png");
  });
});

describe("failures", () => {
  it("names a syntax error and its line", async () => {
    const r = await runPython(newThread("syntax"), { code: "x = 1\ny = 2\nprint(x +)\n" });
    expect(r.is_error).toBe(true);
    expect(r.metadata).toMatchObject({ error_code: "PYTHON_SYNTAX_ERROR", error_type: "SyntaxError", error_line: 3 });
  });

  it("points at the user's line of a runtime error", async () => {
    const r = await runPython(newThread("runtime"), { code: "a = 1\nb = 0\nprint('before')\nc = a / b\nprint('after')" });
    expect(r.is_error).toBe(true);
    expect(r.metadata).toMatchObject({
      exit_code: 1,
      stdout: "before\n",
      error_code: "RUNTIME_ERROR",
      error_type: "ZeroDivisionError",
      error_line: 4,
    });
    expect(r.text).toContain("ZeroDivisionError");
  });

  it("points at the user's calling line when a helper module raises", async () => {
    const r = await runPython(newThread("helper"), {
      code: "import helper\nvalue = 2\nhelper.boom(value)\nprint('unreached')",
      files: { "helper.py": "def boom(v):\n    x = v\n    raise ValueError(f'bad {x}')\n" },
    });
    expect(r.metadata).toMatchObject({ error_code: "RUNTIME_ERROR", error_type: "ValueError", error_line: 3 });
    expect(r.metadata.stderr).toContain("helper.py");
  });

  it("tells a missing module from other import errors", async () => {
    const thread = newThread("imports");
    const missing = await runPython(thread, { code: "import nonexistent_module_xyz" });
    expect(missing.metadata).toMatchObject({ error_code: "MODULE_NOT_FOUND", error_type: "ModuleNotFoundError", error_line: 1 });
    expect(missing.text).toContain("nonexistent_module_xyz");
    expect(missing.text).toMatch(/not installed[\s\S]*install/i);

    const importError = await runPython(thread, { code: "x = 1\nfrom os import nope" });
    expect(importError.metadata).toMatchObject({ error_code: "IMPORT_ERROR", error_type: "ImportError", error_line: 2 });
  });

  it("reports a MemoryError as MEMORY_ERROR", async () => {
    const r = await runPython(newThread("memory"), { code: "raise MemoryError" });
    expect(r.metadata).toMatchObject({ error_code: "MEMORY_ERROR", error_type: "MemoryError", error_line: 1 });
    expect(r.is_error).toBe(true);
  });

  it("stops an endless loop at the timeout", async () => {
    const thread = newThread("timeout");
    await runPython(thread, { code: "pass" }); // configure first, so only the run is timed
    const started = Date.now();
    const r = await runPython(thread, { code: "while True:\n    pass", timeout: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.is_error).toBe(true);
    expect(r.metadata).toMatchObject({ timed_out: true, error_code: "EXECUTION_TIMEOUT" });
  });
});

describe("request validation", () => {
  it.each([
    ["timeout 0", { code: "pass", timeout: 0 }],
    ["timeout 301", { code: "pass", timeout: 301 }],
    ["a missing code", { timeout: 5 }],
    ["an unknown field", { code: "pass", sandbox: "x" }],
  ])("refuses %s with VALIDATION_FAILED", async (_, body) => {
    expect(await failure(newThread("invalid"), body, 400)).toBe("VALIDATION_FAILED");
  });

  it("refuses a body that is not JSON", async () => {
    expect(await failure(newThread("json"), undefined, 400, "{")).toBe("INVALID_JSON");
  });
});

describe("python_cmd", () => {
  it("lists the offered interpreters in the thread state and refuses any other with a clear 400", async () => {
    const thread = newThread("pycmd");
    const ok = await runPython(thread, { code: "import sys; print(sys.prefix)", options: { python_cmd: "python3" } });
    expect(ok).toMatchObject({ is_error: false, metadata: { stdout: "/usr\n", virtual_env: null } });
    const info = await rt.json<{ interpreters: string[] }>("GET", `/threads/acme/${thread}`);
    expect(info.interpreters).toContain("python3");
    const res = await rt.call("POST", `/threads/acme/${thread}/run_python`, { body: { code: "pass", options: { python_cmd: "python3.99" } } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.message).toContain("python3");
  });
});
