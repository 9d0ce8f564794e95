import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ImportPolicy, type RunPythonParamsInput, type RunPythonResponse, RunPythonResponseSchema } from "../../shared/src/index.ts";
import { contextClient } from "./context-client.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

// A thread's import policy (kept by the runtime from the worker's set-up) in the real interpreter, under proot and
// bwrap: run_python (the finder as a sitecustomize) and a Python context (the finder in the kernel). A refused
// import is an ImportError subclass naming the module and the policy, reported like any Python error.
const FILES = {
  "helper.py": "VALUE = 42\n",
  "other.py": "VALUE = 1\n",
  "pkg/__init__.py": "NAME = 'pkg'\n",
  "pkg/sub.py": "NAME = 'sub'\n",
  "pkg/ok.py": "NAME = 'ok'\n",
};

describe.each(["proot", "bwrap"] as const)("import policy under %s", (backend) => {
  let rt: RuntimeProcess;
  beforeAll(async () => {
    rt = await startRuntime({ ISOLATION: backend });
  });
  afterAll(async () => {
    await rt?.stop();
  });
  const contexts = contextClient(() => rt);

  /** A new thread set up with `policy`, its modules written. */
  async function threadWith(label: string, policy: ImportPolicy | null): Promise<string> {
    const thread = `${label}-${randomUUID().slice(0, 8)}`;
    const info = await rt.json("POST", `/threads/acme/${thread}`, { import_policy: policy });
    expect(info.import_policy).toEqual(policy);
    await runPython(thread, { code: "pass", files: FILES });
    return thread;
  }

  async function runPython(thread: string, params: RunPythonParamsInput): Promise<RunPythonResponse> {
    return RunPythonResponseSchema.parse(await rt.json("POST", `/threads/acme/${thread}/run_python`, params));
  }

  describe("run_python", () => {
    it("refuses a denied module with an ImportPolicyError naming it and the policy, at its line", async () => {
      const thread = await threadWith("deny", { deny: ["helper", "xml"] });
      const r = await runPython(thread, { code: "import json\nimport other\nimport helper\nprint('unreached')" });
      expect(r.is_error).toBe(true);
      expect(r.metadata).toMatchObject({ error_type: "threadbox.ImportPolicyError", error_line: 3 });
      expect(r.metadata.stderr).toContain("module 'helper' is denied by this thread's import policy (deny: helper)");
      expect(r.metadata.stdout).toBe("");
      // A denied standard-library package and its submodules; the error is an ImportError (callers may catch it).
      const xml = await runPython(thread, {
        code: "try:\n    import xml.etree.ElementTree\nexcept ImportError as e:\n    print(type(e).__name__, e.name)\nimport csv\nprint('ok')",
      });
      expect(xml.metadata.stdout).toBe("ImportPolicyError xml\nok\n");
    });

    it("refuses a denied submodule, not its parent or siblings", async () => {
      const thread = await threadWith("sub", { deny: ["pkg.sub"] });
      const ok = await runPython(thread, { code: "import pkg, pkg.ok\nprint(pkg.NAME, pkg.ok.NAME)" });
      expect(ok.metadata.stdout).toBe("pkg ok\n");
      const r = await runPython(thread, { code: "from pkg import sub" });
      expect(r.metadata.error_type).toBe("threadbox.ImportPolicyError");
      expect(r.metadata.stderr).toContain("module 'pkg.sub' is denied by this thread's import policy (deny: pkg.sub)");
    });

    it("with an allow list, imports the standard library and what is allowed, and nothing else", async () => {
      const thread = await threadWith("allow", { allow: ["helper", "pkg.ok"] });
      const ok = await runPython(thread, {
        code: "import json, csv, sqlite3, xml.etree.ElementTree, email.mime.text, asyncio\nimport helper, pkg.ok\nprint(helper.VALUE, pkg.ok.NAME)",
      });
      expect(ok.is_error, ok.metadata.stderr).toBe(false);
      expect(ok.metadata.stdout).toBe("42 ok\n");
      const r = await runPython(thread, { code: "import helper\nimport other" });
      expect(r.metadata).toMatchObject({ error_type: "threadbox.ImportPolicyError", error_line: 2 });
      expect(r.metadata.stderr).toContain(
        "module 'other' is not allowed by this thread's import policy (allow: helper, pkg.ok; the standard library is always allowed)",
      );
      // auto_install does not try to install a module the policy refuses.
      const auto = await runPython(thread, { code: "import other", options: { auto_install: true } });
      expect(auto.metadata.packages_installed).toEqual([]);
      expect(auto.metadata.error_type).toBe("threadbox.ImportPolicyError");
    });

    it("keeps the caller's own PYTHONPATH and cannot be switched off through `environment`", async () => {
      const thread = await threadWith("env", { deny: ["helper"] });
      const r = await runPython(thread, { code: "import helper", environment: { THREADBOX_IMPORT_POLICY: "", PYTHONPATH: "/tmp" } });
      expect(r.metadata.error_type).toBe("threadbox.ImportPolicyError");
    });

    it("holds with capture_screenshot, and the GUI hook still loads after it", async () => {
      const thread = await threadWith("gui", { deny: ["helper"] });
      const code = "import sys\nprint(sys.modules['sitecustomize'].__file__)\nimport helper";
      const r = await runPython(thread, { code, capture_screenshot: true });
      expect(r.metadata.error_type).toBe("threadbox.ImportPolicyError");
      expect(r.metadata.stdout).toContain(".threadbox-x11/python/sitecustomize.py");
    });

    it("changes nothing without a policy, and a later set-up without one clears it", async () => {
      const thread = await threadWith("open", { deny: ["helper"] });
      expect((await rt.json("POST", `/threads/acme/${thread}`, { import_policy: null })).import_policy).toBeNull();
      const r = await runPython(thread, { code: "import helper, other, pkg.sub\nimport sys\nprint(helper.VALUE, 'sitecustomize' in sys.modules)" });
      expect(r.is_error, r.metadata.stderr).toBe(false);
      expect(r.metadata.stdout).toMatch(/^42 /);
    });
  });

  describe("a Python context", () => {
    it("refuses a denied module or submodule and imports what is allowed", async () => {
      const thread = await threadWith("ctx", { allow: ["helper", "pkg"], deny: ["pkg.sub"] });
      const { id } = await contexts.create(thread);
      expect(await contexts.value(thread, id, "import json, helper, pkg.ok\nhelper.VALUE")).toBe("42");
      const denied = await contexts.run(thread, id, "x = 1\nimport pkg.sub");
      expect(denied.ok).toBe(false);
      // Contexts name an error by its class, as for any other error (run_python by its traceback line).
      expect(denied.error).toMatchObject({ type: "ImportPolicyError", line: 2 });
      expect(denied.error?.value).toContain("module 'pkg.sub' is denied by this thread's import policy (deny: pkg.sub)");
      const other = await contexts.run(thread, id, "import other");
      expect(other.error?.value).toContain("module 'other' is not allowed by this thread's import policy");
      // Only the user's frames: never the finder's.
      expect(other.error?.traceback).not.toContain("find_spec");
      // The context lives on.
      expect(await contexts.value(thread, id, "x + helper.VALUE")).toBe("43");
    });
  });
});
