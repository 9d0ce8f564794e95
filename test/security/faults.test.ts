import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecResultSchema, ExecutionRecordSchema, RunPythonResponseSchema } from "../../shared/src/index.ts";
import { createThread, expectJson, uniqueId } from "../e2e/helpers.ts";
import { type Stack, startStack } from "../e2e/stack.ts";

// SECURITY.md's faults that no other file covers, through the public API:
//   two requests racing on one thread → serialized, nothing lost (here)
//   a workspace corrupted by its own sandbox (venv gone, marker garbage) → reconfigured on the next call (here)
//   the sandbox swaps the workspace's .threadbox for a link out → nothing written outside, the thread recovers (here)
// Covered elsewhere, not repeated: runtime killed mid-execution (test/e2e/faults.test.ts); kill -9 of the runtime
// during a package install (test/runtime/packages.test.ts, "heals after a real SIGKILL ..."); venv deleted or
// interpreter broken from the host (test/runtime/workspace.test.ts). Storage mount lost belongs to the R2 mount
// (issue 7) and is not tested here.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const post = (thread: string, route: string, body: unknown) => stack.api("POST", `/v1/threads/${thread}/${route}`, { body });
const exec = async (thread: string, command: string) => ExecResultSchema.parse(await expectJson(post(thread, "exec", { command }), 200));

describe("two requests racing on one thread", () => {
  it("runs them one after the other: a read-modify-write counter loses no update", async () => {
    const thread = await createThread(stack, uniqueId("race"));
    // Each request reads the counter, waits, writes it back: run together, one update would be lost.
    const shell = "n=$(cat /counter 2>/dev/null || echo 0); sleep 1; echo $((n+1)) > /counter; echo shell >> /log";
    const python = [
      "import os, time",
      "n = int(open('/counter').read()) if os.path.exists('/counter') else 0",
      "time.sleep(1)",
      "open('/counter', 'w').write(str(n + 1) + '\\n')",
      "open('/log', 'a').write('python\\n')",
    ].join("\n");
    const [a, b] = await Promise.all([post(thread, "exec", { command: shell }), post(thread, "run_python", { code: python })]);
    const shellRun = ExecResultSchema.parse(await expectJson(a, 200));
    const pythonRun = RunPythonResponseSchema.parse(await expectJson(b, 200));
    expect(shellRun.exit_code, shellRun.stderr).toBe(0);
    expect(pythonRun.is_error, pythonRun.text).toBe(false);

    const after = await exec(thread, "cat /counter; sort /log");
    expect(after.stdout).toBe("2\npython\nshell\n");
    // The history agrees: the later one started only after the earlier one finished.
    const runs = await Promise.all(
      [shellRun.execution_id, pythonRun.metadata.execution_id].map(async (id) =>
        ExecutionRecordSchema.parse(await expectJson(stack.api("GET", `/v1/threads/${thread}/executions/${id}`), 200)),
      ),
    );
    const [first, second] = runs.sort((x, y) => Date.parse(x.started_at ?? "") - Date.parse(y.started_at ?? ""));
    expect(Date.parse(second?.started_at ?? "")).toBeGreaterThanOrEqual(Date.parse(first?.finished_at ?? ""));
  });
});

describe("a workspace corrupted by its own sandbox", () => {
  it("is reconfigured on the next call when the venv's interpreter is gone and the marker is garbage", async () => {
    const thread = await createThread(stack, uniqueId("corrupt"));
    expect((await exec(thread, "echo kept > /kept.txt; python --version")).exit_code).toBe(0);
    const broken = await exec(thread, "rm -f /.venv/bin/python*; echo '{not json' > /.threadbox/workspace.json; ls /.venv/bin | grep -c python");
    expect(broken.stdout).toBe("0\n");

    const next = await exec(thread, "python -c 'import sys; print(sys.prefix)'; cat /kept.txt");
    expect(next, next.stderr).toMatchObject({ exit_code: 0, stdout: "/.venv\nkept\n" });
  });

  it("writes nothing outside when .threadbox becomes a link out, and the thread works again", async () => {
    const thread = await createThread(stack, uniqueId("relink"));
    const outside = path.join(stack.runtime.root, `outside-${thread}`);
    const decoy = path.join(stack.runtime.root, `decoy-${thread}`);
    mkdirSync(outside, { mode: 0o755 });
    writeFileSync(decoy, "HOST DECOY\n");
    expect((await exec(thread, "echo kept > /kept.txt")).exit_code).toBe(0);
    const planted = await exec(
      thread,
      `rm -rf /.threadbox /.venv/bin/python* && ln -s ${outside} /.threadbox && ln -sf ${decoy} /pyproject.toml && ln -sf ${decoy} /.bashrc && echo planted`,
    );
    expect(planted.stdout).toBe("planted\n");

    const next = await post(thread, "exec", { command: "python --version && cat /kept.txt" });
    const text = await next.text();
    // Never through the links: nothing lands in the outside directory, the decoy is untouched.
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(decoy, "utf8")).toBe("HOST DECOY\n");
    // And the thread is not bricked by its own sandbox: the links are replaced, the workspace set up again.
    expect(next.status, text).toBe(200);
    expect(ExecResultSchema.parse(JSON.parse(text))).toMatchObject({ exit_code: 0, stdout: expect.stringMatching(/^Python 3\.\d+\.\d+\nkept\n$/) });
  });
});
