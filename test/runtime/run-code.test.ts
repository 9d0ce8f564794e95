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

const major = Number(process.versions.node.split(".")[0]);

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

  // TypeScript runs where the runtime's Node strips types (22.6+, the container image) or bun is present.
  it("runs TypeScript, or says clearly why it cannot", async () => {
    const res = await rt.call("POST", "/threads/acme/js/run_code", {
      body: { language: "typescript", code: "const n: number = 2;\nconsole.log(n * 21);" },
    });
    if (major >= 23 || (major === 22 && Number(process.versions.node.split(".")[1]) >= 6)) {
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ exit_code: 0, stdout: "42\n" });
    } else {
      expect(res.status).toBe(501);
      expect(await res.json()).toMatchObject({ error: { code: "NOT_IMPLEMENTED", message: expect.stringContaining("Node >= 22.6") } });
    }
  });
});
