import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RuntimeProcess, processesMatching, startRuntime } from "./harness.ts";

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime({ ISOLATION: "bwrap" });
});
afterAll(async () => {
  await rt?.stop();
});

describe("bwrap backend", () => {
  it("runs in the same workspace layout and leaves no mount-point stubs behind", async () => {
    const r = await rt.json("POST", "/threads/acme/bw1/exec", {
      command: "echo hi > /workspace/a.txt; cat /a.txt; which python; id -u",
    });
    expect(r).toMatchObject({ exit_code: 0, stdout: "hi\n/.venv/bin/python\n65534\n" });
    const entries = (await readdir(path.join(rt.workspaces, "acme", "bw1"))).sort();
    expect(entries).toEqual([".bashrc", ".threadbox", "a.txt", "package.json", "pyproject.toml"]);
  });

  it("shows system directories read-only", async () => {
    const r = await rt.json<{ exit_code: number; stderr: string }>("POST", "/threads/acme/bw2/exec", {
      command: "touch /usr/threadbox-probe",
    });
    expect(r.exit_code).not.toBe(0);
    expect(r.stderr).toMatch(/Read-only|Permission denied/);
  });

  it("kills a setsid daemon when the command exits", async () => {
    const marker = `bwrap-daemon-${Date.now()}`;
    const r = await rt.json("POST", "/threads/acme/bw3/exec", {
      command: `setsid sh -c 'sleep 1000; : ${marker}' > /dev/null 2>&1 & exit 0`,
    });
    expect(r).toMatchObject({ exit_code: 0, timed_out: false });
    expect(await processesMatching(marker)).toEqual([]);
  });
});
