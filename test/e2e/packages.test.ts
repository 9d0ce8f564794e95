import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecResult, InstallResult, RunPythonResponse } from "../../shared/src/index.ts";
import { readEvents } from "../runtime/harness.ts";
import { type PackageIndex, startPackageIndex } from "../runtime/package-index.ts";
import { SSE, createThread, expectJson, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

let index: PackageIndex;
let stack: Stack;

beforeAll(async () => {
  index = await startPackageIndex([
    { name: "tbx-edge", version: "1.0.0" },
    { name: "tbx-edge", version: "1.5.0" },
  ]);
  stack = await startStack({ runtime: { PIP_INDEX_URL: index.url } });
});
afterAll(async () => {
  await stack?.stop();
  await index?.stop();
});

describe("packages through the public API", () => {
  it("installs into the thread with install events, then the code imports it; the state lists it", async () => {
    const thread = await createThread(stack, uniqueId("pkg"));
    const res = await stack.api("POST", `/v1/threads/${thread}/packages`, { body: { packages: ["tbx-edge<1.5"] }, accept: SSE });
    const events = await readEvents(res);
    const phases = events.filter((e) => e.type === "install").map((e) => (e.type === "install" ? e.phase : ""));
    expect(phases[0]).toBe("start");
    expect(phases.at(-1)).toBe("done");
    const result = events.at(-1);
    expect(result?.type).toBe("result");
    const value = (result as { result: { value: InstallResult } }).result.value;
    expect(value).toMatchObject({ ok: true, language: "python", installed: ["tbx-edge==1.0.0"] });

    const run = await expectJson<RunPythonResponse>(
      stack.api("POST", `/v1/threads/${thread}/run_python`, { body: { code: "import tbx_edge\nprint(tbx_edge.hello())" } }),
      200,
    );
    expect(run.text).toBe("hello from tbx-edge 1.0.0");
    const state = await expectJson<{ workspace: { packages: string[] } }>(stack.api("GET", `/v1/threads/${thread}`), 200);
    expect(state.workspace.packages).toEqual(["tbx-edge==1.0.0"]);
    const history = await expectJson<{ executions: { kind: string; status: string }[] }>(
      stack.api("GET", `/v1/threads/${thread}/executions`),
      200,
    );
    expect(history.executions.at(-1)).toMatchObject({ kind: "install", status: "succeeded" });
  });

  it("reports a failed install as a failed execution with the installer's message", async () => {
    const thread = await createThread(stack, uniqueId("pkgfail"));
    const value = await expectJson<InstallResult>(
      stack.api("POST", `/v1/threads/${thread}/packages`, { body: { packages: ["tbx-not-there"] } }),
      200,
    );
    expect(value).toMatchObject({ ok: false, installed: [] });
    expect(value.message).toContain("tbx-not-there");
    const history = await expectJson<{ executions: { status: string; error_code: string }[] }>(
      stack.api("GET", `/v1/threads/${thread}/executions`),
      200,
    );
    expect(history.executions[0]).toMatchObject({ status: "failed", error_code: "PACKAGE_INSTALL_FAILED" });
  });

  it("runs JavaScript through run_code in the workspace", async () => {
    const thread = await createThread(stack, uniqueId("js"));
    const r = await expectJson<ExecResult>(
      stack.api("POST", `/v1/threads/${thread}/run_code`, {
        body: { language: "javascript", code: "console.log(await Promise.resolve(6 * 7))" },
      }),
      200,
    );
    expect(r).toMatchObject({ exit_code: 0, stdout: "42\n" });
  });
});
