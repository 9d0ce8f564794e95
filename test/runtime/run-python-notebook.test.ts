import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunPythonParamsInput, type RunPythonResponse, RunPythonResponseSchema } from "../../shared/src/index.ts";
import { failure, newThread } from "./context-client.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

// run_python with options.notebook_format: the code as one notebook cell in a temporary context, against the real
// runtime: figures without savefig and the last expression's value come back as displays, errors as run_python's.

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

const call = (thread: string, params: RunPythonParamsInput) => rt.call("POST", `/threads/acme/${thread}/run_python`, { body: params });
async function runNotebook(thread: string, params: Omit<RunPythonParamsInput, "options">): Promise<RunPythonResponse> {
  return RunPythonResponseSchema.parse(await rt.json("POST", `/threads/acme/${thread}/run_python`, { ...params, options: { notebook_format: true } }));
}

describe("run_python with notebook_format", () => {
  it("returns a figure without savefig and the last expression's value, with the files importable", async () => {
    const r = await runNotebook(newThread("nbf"), {
      code: "import matplotlib.pyplot as plt\nfrom helper import answer\nprint('drawing')\nplt.plot([1, 4, 9])\nanswer()",
      files: { "helper.py": "def answer():\n    return 42\n" },
    });
    expect(r.is_error, r.text).toBe(false);
    expect(r.metadata.exit_code).toBe(0);
    expect(r.metadata.stdout).toBe("drawing\n42\n");
    expect(r.text).toBe("drawing\n42");
    expect(r.metadata.files_created).toEqual(["helper.py"]);
    const displays = r.displays ?? [];
    expect(displays.find((d) => d.source === "figure" && d.mime === "image/png")?.data.slice(0, 8)).toBe("iVBORw0K");
    expect(displays.find((d) => d.source === "value" && d.mime === "text/plain")?.data).toBe("42");
  });

  it("gives a DataFrame's html as a value, and starts each call from a fresh interpreter", async () => {
    const thread = newThread("nbf-df");
    const r = await runNotebook(thread, { code: "import pandas as pd\nleft = 1\npd.DataFrame({'a': [1, 2]})" });
    expect(r.displays?.find((d) => d.mime === "text/html")?.data).toContain("<table");
    const again = await runNotebook(thread, { code: "left" });
    expect(again.is_error).toBe(true);
    expect(again.metadata.error_type).toBe("NameError");
  });

  it("reports an error as run_python does: type, line in the code, code", async () => {
    const r = await runNotebook(newThread("nbf-err"), { code: "x = 1\ny = 2\nx / 0" });
    expect(r.is_error).toBe(true);
    expect(r.metadata).toMatchObject({ exit_code: 1, error_type: "ZeroDivisionError", error_line: 3, error_code: "RUNTIME_ERROR" });
    expect(r.text).toContain("ZeroDivisionError");
  });

  it("refuses what a notebook cell cannot take (stdin, another interpreter) with a 400", async () => {
    const thread = newThread("nbf-bad");
    expect(await failure(await call(thread, { code: "input()", stdin: "x\n", options: { notebook_format: true } }), 400)).toBe("VALIDATION_FAILED");
    expect(await failure(await call(thread, { code: "1", options: { notebook_format: true, use_venv: false } }), 400)).toBe("VALIDATION_FAILED");
  });
});
