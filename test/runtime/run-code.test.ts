import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecResult } from "../../shared/src/index.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

describe("run_code for JavaScript and TypeScript", () => {
  it("runs an ES module with top-level await in the workspace, with the exit status", async () => {
    const r = await rt.json<ExecResult>("POST", "/threads/acme/js/run_code", {
      language: "javascript",
      code: "import { writeFileSync } from 'node:fs';\nconst x = await Promise.resolve(41);\nwriteFileSync('out.txt', String(x + 1));\nconsole.log(x + 1, process.cwd());\nprocess.exit(3);",
    });
    expect(r).toMatchObject({ exit_code: 3, stdout: "42 /\n" });
    const file = await rt.call("GET", "/threads/acme/js/files/out.txt");
    expect(await file.text()).toBe("42");
  });

  it("reports a thrown error on stderr with a non-zero status", async () => {
    const r = await rt.json<ExecResult>("POST", "/threads/acme/js/run_code", { language: "javascript", code: "throw new Error('boom')" });
    expect(r.exit_code).not.toBe(0);
    expect(r.stderr).toContain("Error: boom");
  });

  // TypeScript is transpiled by the runtime (esbuild), so it runs on any Node, this one included.
  it("runs TypeScript with enums and interfaces, and reports an error at its line in main.ts", async () => {
    const ok = await rt.json<ExecResult>("POST", "/threads/acme/ts/run_code", {
      language: "typescript",
      code: "import { join } from 'node:path';\nenum E { A = 40 }\nconst n: number = E.A + 2;\nconsole.log(n, join('a', 'b'));",
    });
    expect(ok).toMatchObject({ exit_code: 0, stdout: "42 a/b\n" });
    const failed = await rt.json<ExecResult>("POST", "/threads/acme/ts/run_code", {
      language: "typescript",
      code: "interface A {\n  a: number;\n}\nconst x: A = { a: 1 };\nthrow new Error('boom ' + x.a);",
    });
    expect(failed.exit_code).toBe(1);
    expect(failed.stderr).toContain("Error: boom 1");
    expect(failed.stderr).toMatch(/main\.ts:5:/);
  });

  it("reports TypeScript that does not compile on stderr with status 1 and the line", async () => {
    const bad = await rt.json<ExecResult>("POST", "/threads/acme/ts/run_code", { language: "typescript", code: "const a = 1;\nconst x: = 1;" });
    expect(bad).toMatchObject({ exit_code: 1, stdout: "" });
    expect(bad.stderr).toMatch(/main\.ts:2\n/);
    expect(bad.stderr).toContain("SyntaxError:");
    expect(bad.stderr).toContain("const x: = 1;");
  });
});
