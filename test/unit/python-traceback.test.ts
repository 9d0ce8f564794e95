import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixForImport, moduleNotFoundHint } from "../../runtime-container/src/python/import-names.ts";
import { analyzePythonFailure, type FinishedPythonRun } from "../../runtime-container/src/python/traceback.ts";

// Real tracebacks from a real interpreter: the parser must match what Python prints, not what we
// remember it printing.
const PYTHON = "/usr/bin/python3";
const root = mkdtempSync(join(tmpdir(), "threadbox-tb-"));
let counter = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface RunOptions {
  helpers?: Record<string, string>;
  timeoutMs?: number;
}

function writeScript(code: string, helpers: Record<string, string> = {}): string {
  const dir = join(root, `case${counter++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(helpers)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, "main.py"), code);
  return join(dir, "main.py");
}

const spawnOptions = { encoding: "utf8", env: { PATH: "/usr/bin:/bin", PYTHONDONTWRITEBYTECODE: "1" } } as const;

function run(code: string, opts: RunOptions = {}): FinishedPythonRun {
  const scriptPath = writeScript(code, opts.helpers);
  const result = spawnSync(PYTHON, ["-u", scriptPath], {
    ...spawnOptions,
    timeout: opts.timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  const timedOut = (result.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
  return { stderr: result.stderr, exitCode: result.status, signal: result.signal, timedOut, scriptPath };
}

/** A timeout that interrupts with SIGINT; spawnSync stops reading output once it kills, so spawn. */
function runInterruptedAfter(code: string, ms: number): Promise<FinishedPythonRun> {
  const scriptPath = writeScript(code);
  const child = spawn(PYTHON, ["-u", scriptPath], spawnOptions);
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGINT"), ms);
  return new Promise((resolve) => {
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ stderr, exitCode, signal, timedOut: true, scriptPath });
    });
  });
}

describe("analyzePythonFailure on real Python output", () => {
  it("returns null for a successful run", () => {
    expect(analyzePythonFailure(run("print('hi')\n"))).toBeNull();
  });

  it("reports a ZeroDivisionError on line 3", () => {
    expect(analyzePythonFailure(run("a = 1\nb = 0\nprint(a / b)\n"))).toEqual({
      error_type: "ZeroDivisionError",
      error_line: 3,
      error_code: "RUNTIME_ERROR",
      message: "ZeroDivisionError: division by zero",
    });
  });

  it("reports the script's calling line for an error inside a helper module", () => {
    const helpers = { "utils.py": "import json\n\ndef parse(s):\n    return json.loads(s)\n" };
    const failure = analyzePythonFailure(run("import utils\n\n\nutils.parse('{')\n", { helpers }));
    expect(failure).toMatchObject({ error_type: "json.decoder.JSONDecodeError", error_line: 4 });
    expect(failure?.error_code).toBe("RUNTIME_ERROR");
  });

  it("reports a SyntaxError on line 2 (printed without a Traceback header)", () => {
    const failure = analyzePythonFailure(run("x = 1\ny = (\n"));
    expect(failure).toMatchObject({ error_type: "SyntaxError", error_line: 2, error_code: "PYTHON_SYNTAX_ERROR" });
    expect(failure?.message).toMatch(/^SyntaxError: /);
  });

  it("reports an IndentationError", () => {
    const failure = analyzePythonFailure(run("if True:\n    x = 1\n      y = 2\n"));
    expect(failure).toMatchObject({ error_type: "IndentationError", error_line: 3, error_code: "PYTHON_SYNTAX_ERROR" });
  });

  it("reports the import line for a SyntaxError inside a helper module", () => {
    const failure = analyzePythonFailure(run("import os\nimport broken\n", { helpers: { "broken.py": "x = (\n" } }));
    expect(failure).toMatchObject({ error_type: "SyntaxError", error_line: 2, error_code: "PYTHON_SYNTAX_ERROR" });
  });

  it("reports a missing module with its top-level name", () => {
    expect(analyzePythonFailure(run("import nonexistent_pkg_xyz\n"))).toEqual({
      error_type: "ModuleNotFoundError",
      error_line: 1,
      error_code: "MODULE_NOT_FOUND",
      message: "ModuleNotFoundError: No module named 'nonexistent_pkg_xyz'",
      missing_module: "nonexistent_pkg_xyz",
    });
    const dotted = analyzePythonFailure(run("x = 1\nimport nonexistent_pkg_xyz.sub\n"));
    expect(dotted).toMatchObject({ missing_module: "nonexistent_pkg_xyz", error_line: 2 });
  });

  it("maps a failed `from x import y` to IMPORT_ERROR", () => {
    const failure = analyzePythonFailure(run("from os import nonexistent_name\n"));
    expect(failure).toMatchObject({ error_type: "ImportError", error_line: 1, error_code: "IMPORT_ERROR" });
    expect(failure?.missing_module).toBeUndefined();
  });

  it("reports the last exception of a chain, with the type unqualified by __main__", () => {
    const code = [
      "class MyError(Exception):",
      "    pass",
      "try:",
      "    {}['k']",
      "except KeyError as e:",
      "    raise MyError('wrapped\\nsecond line') from e",
    ].join("\n");
    expect(analyzePythonFailure(run(code))).toEqual({
      error_type: "MyError",
      error_line: 6,
      error_code: "RUNTIME_ERROR",
      message: "MyError: wrapped",
    });
  });

  it("reports a plain nonzero exit as SystemExit", () => {
    expect(analyzePythonFailure(run("import sys\nsys.exit(3)\n"))).toEqual({
      error_type: "SystemExit",
      error_code: "RUNTIME_ERROR",
      message: "Process exited with code 3",
    });
  });

  it("maps MemoryError to MEMORY_ERROR", () => {
    expect(analyzePythonFailure(run("x = 1\nraise MemoryError()\n"))).toEqual({
      error_type: "MemoryError",
      error_line: 2,
      error_code: "MEMORY_ERROR",
      message: "MemoryError",
    });
  });

  it("ignores a fake traceback the user printed before the real one", () => {
    const code = [
      "import sys",
      "print('Traceback (most recent call last):', file=sys.stderr)",
      `print('  File "' + __file__ + '", line 99, in <module>', file=sys.stderr)`,
      "print('FakeError: not real', file=sys.stderr)",
      "int('nope')",
    ].join("\n");
    expect(analyzePythonFailure(run(code))).toMatchObject({ error_type: "ValueError", error_line: 5 });
  });

  it("finds the traceback after megabytes of stderr", () => {
    const code = "import sys\nsys.stderr.write('Error: noise\\n' * 200000)\nNone.x\n";
    expect(analyzePythonFailure(run(code))).toMatchObject({ error_type: "AttributeError", error_line: 3 });
  });

  it("reads the top-level group of an uncaught ExceptionGroup", () => {
    const failure = analyzePythonFailure(run("\nraise ExceptionGroup('eg', [ValueError('v')])\n"));
    expect(failure).toMatchObject({ error_type: "ExceptionGroup", error_line: 2, error_code: "RUNTIME_ERROR" });
  });

  it("reports EXECUTION_TIMEOUT when the run is stopped by a timeout", () => {
    const failure = analyzePythonFailure(run("while True:\n    pass\n", { timeoutMs: 500 }));
    expect(failure).toMatchObject({ error_type: "TimeoutError", error_code: "EXECUTION_TIMEOUT" });
    expect(failure?.message).toMatch(/timed out/);
  });

  it("keeps the traceback's type and line when the timeout interrupt produced one", async () => {
    const code = "import time\nwhile True:\n    time.sleep(0.01)\n";
    const failure = analyzePythonFailure(await runInterruptedAfter(code, 500));
    expect(failure).toMatchObject({ error_type: "KeyboardInterrupt", error_line: 3, error_code: "EXECUTION_TIMEOUT" });
  });

  it("treats an unexplained SIGKILL as running out of memory", () => {
    const failure = analyzePythonFailure(run("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"));
    expect(failure?.error_code).toBe("MEMORY_ERROR");
    expect(failure?.message).toMatch(/memory/);
  });

  it("reports other signals as RUNTIME_ERROR", () => {
    const real = run("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n");
    expect(real.signal).toBe("SIGSEGV");
    expect(analyzePythonFailure({ ...real, stderr: "" })).toEqual({
      error_type: "SIGSEGV",
      error_code: "RUNTIME_ERROR",
      message: "Process terminated by SIGSEGV",
    });
  });
});

describe("moduleNotFoundHint", () => {
  it("tells the caller how to install the module, using the pip name when it differs", () => {
    expect(moduleNotFoundHint("requests")).toContain('"packages": ["requests"]');
    expect(moduleNotFoundHint("cv2")).toContain('"packages": ["opencv-python-headless"]');
    expect(moduleNotFoundHint("constructor")).toContain('["constructor"]');
  });

  it("points a standard-library typo at the real module instead of an install", () => {
    expect(moduleNotFoundHint("dataclass")).toContain("'dataclasses'");
    expect(moduleNotFoundHint("dataclass")).not.toContain("packages");
  });
});

describe("fixForImport (auto_install's import names)", () => {
  const stdlib = new Set(["json", "dataclasses", "os"]);
  it("maps import names to distributions", () => {
    expect(fixForImport("PIL", stdlib)).toEqual({ install: "pillow" });
    expect(fixForImport("sklearn.ensemble", stdlib)).toEqual({ install: "scikit-learn" });
    expect(fixForImport("docx", stdlib)).toEqual({ install: "python-docx" });
    expect(fixForImport("requests", stdlib)).toEqual({ install: "requests" });
  });
  it("never installs standard-library names, and corrects typos of them", () => {
    expect(fixForImport("json", stdlib)).toEqual({ none: true });
    expect(fixForImport("dataclass", stdlib)).toEqual({ stdlib: "dataclasses" });
  });
});
