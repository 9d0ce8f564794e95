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
    const r = await rt.json<{ exit_code: number; stdout: string }>("POST", "/threads/acme/bw1/exec", {
      command: "echo hi > /workspace/a.txt; cat /a.txt; which python; id -u",
    });
    expect(r).toMatchObject({ exit_code: 0, stdout: expect.stringMatching(/^hi\n\/\.venv\/bin\/python\n\d+\n$/) });
    // The thread's own uid, from this runtime's range (never root, never the server's).
    const { layers } = await rt.json<{ layers: { uid_range: { first: number; last: number } } }>("GET", "/health");
    const uid = Number(r.stdout.trim().split("\n").pop());
    expect(uid).toBeGreaterThanOrEqual(layers.uid_range.first);
    expect(uid).toBeLessThanOrEqual(layers.uid_range.last);
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

  it('gives each thread a network namespace: "none" has lo only, default a way out, neither the runtime\'s port', async () => {
    // The interfaces the thread sees, then a connection to the runtime's own port.
    const probe = `tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '; python3 -c "import socket; socket.create_connection(('127.0.0.1', ${new URL(rt.url).port}), timeout=3)"`;
    await rt.json("POST", "/threads/acme/bw4", { network: "none" });
    const cut = await rt.json<{ exit_code: number; stdout: string; stderr: string }>("POST", "/threads/acme/bw4/exec", { command: probe });
    expect(cut.stdout).toBe("lo ");
    expect(cut.exit_code).not.toBe(0);
    expect(cut.stderr).toMatch(/Connection refused/);
    const open = await rt.json<{ exit_code: number; stdout: string; stderr: string }>("POST", "/threads/acme/bw5/exec", { command: probe });
    expect(open.stdout).toBe("lo tap0 ");
    expect(open.exit_code).not.toBe(0);
    expect(open.stderr).toMatch(/Connection refused/);
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
