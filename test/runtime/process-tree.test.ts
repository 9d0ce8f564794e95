import { randomInt, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ExecRequestInput, ExecResult } from "../../shared/src/index.ts";
import { processesMatching, type RuntimeProcess, startRuntime } from "./harness.ts";

// Every run's process tree must be gone when the call returns (SECURITY.md, limits and R6–R10), and
// nothing a run does may stall the server or another thread. The harness sets KILL_GRACE_MS=500.

const TENANT = "acme";
let rt: RuntimeProcess;
let serverPid: number | undefined;

beforeAll(async () => {
  rt = await startRuntime();
  serverPid = rt.child.pid;
});
afterAll(async () => {
  await rt?.stop();
});
// After every case: the same server process is alive and answers.
afterEach(async () => {
  expect(rt.child.exitCode, `the runtime exited:\n${rt.logs()}`).toBeNull();
  expect(rt.child.pid).toBe(serverPid);
  expect(await rt.json("GET", "/health")).toMatchObject({ ok: true });
});

const newThread = () => `pt-${randomUUID()}`;

async function exec(thread: string, req: ExecRequestInput): Promise<{ result: ExecResult; wallMs: number }> {
  const started = performance.now();
  const result = await rt.json<ExecResult>("POST", `/threads/${TENANT}/${thread}/exec`, req);
  return { result, wallMs: performance.now() - started };
}

/** A `sleep` argument no other process on the host uses, so `sleep <it>` marks this test's processes. */
const uniqueSeconds = () => String(1_000_000 + randomInt(1_000_000_000));

/** Runs the call while polling for the marker, so a test also proves the process it expects dead did exist. */
async function runWatching(marker: string, call: Promise<{ result: ExecResult; wallMs: number }>) {
  let done = false;
  const settled = call.finally(() => (done = true));
  let seen = false;
  for (let i = 0; i < 300 && !done && !seen; i++) {
    seen = (await processesMatching(marker)).length > 0;
    if (!seen) await new Promise((r) => setTimeout(r, 100));
  }
  const out = await settled;
  const survivors = await processesMatching(marker);
  return { ...out, seen, survivors };
}

/** Shell that waits (bounded) until the file exists, so a daemon has provably started before the parent exits. */
const waitForFile = (file: string) => `for i in $(seq 100); do [ -e ${file} ] && break; sleep 0.05; done`;

describe("wall timeout", () => {
  it("kills a sleeping command at the timeout and reports it", async () => {
    const secs = `30.${randomInt(1_000_000)}`;
    const r = await runWatching(`sleep ${secs}`, exec(newThread(), { command: `sleep ${secs}`, timeout: 1 }));
    expect(r.seen).toBe(true);
    expect(r.result).toMatchObject({ timed_out: true, canceled: false });
    expect([137, 143]).toContain(r.result.exit_code);
    expect(r.wallMs).toBeLessThan(5_000);
    expect(r.survivors).toEqual([]);
  });

  it("kills a command that ignores SIGTERM after the grace", async () => {
    const secs = `30.${randomInt(1_000_000)}`;
    const r = await runWatching(
      `sleep ${secs}`,
      exec(newThread(), { command: `trap '' TERM; sleep ${secs}`, timeout: 1 }),
    );
    expect(r.seen).toBe(true);
    expect(r.result).toMatchObject({ timed_out: true, exit_code: 137, signal: "SIGKILL" });
    expect(r.result.duration_ms).toBeGreaterThanOrEqual(1_400); // the timeout, then the 500 ms grace
    expect(r.wallMs).toBeLessThan(5_000);
    expect(r.survivors).toEqual([]);
  });

  it("kills a background grandchild that ignores SIGTERM", async () => {
    const secs = uniqueSeconds();
    const command = `bash -c "trap '' TERM; exec sleep ${secs}" & sleep 30`;
    const r = await runWatching(`sleep ${secs}`, exec(newThread(), { command, timeout: 1 }));
    expect(r.seen).toBe(true);
    expect(r.result.timed_out).toBe(true);
    expect(r.wallMs).toBeLessThan(5_000);
    expect(r.survivors).toEqual([]);
  });
});

describe("daemons do not outlive the run", () => {
  it("R9: a setsid child is killed and the call returns when the parent exits", async () => {
    const thread = newThread();
    const secs = uniqueSeconds();
    const command = `setsid sh -c 'touch /daemon-up; sleep ${secs}; : marker' & ${waitForFile("/daemon-up")}; exit 0`;
    const r = await runWatching(`sleep ${secs}`, exec(thread, { command, timeout: 30 }));
    expect(existsSync(path.join(rt.workspaces, TENANT, thread, "daemon-up"))).toBe(true);
    expect(r.result).toMatchObject({ exit_code: 0, timed_out: false });
    expect(r.wallMs).toBeLessThan(5_000);
    expect(r.survivors).toEqual([]);
  });

  it("R10: a double-forked nohup daemon with its fds closed is killed", async () => {
    const thread = newThread();
    const secs = uniqueSeconds();
    const daemon = `( exec 0<&- 1>&- 2>&-; nohup setsid sh -c 'touch /daemon-up; exec sleep ${secs}' & ); `;
    const r = await runWatching(
      `sleep ${secs}`,
      exec(thread, { command: `${daemon}${waitForFile("/daemon-up")}; exit 0`, timeout: 30 }),
    );
    expect(existsSync(path.join(rt.workspaces, TENANT, thread, "daemon-up"))).toBe(true);
    expect(r.result).toMatchObject({ exit_code: 0, timed_out: false });
    expect(r.wallMs).toBeLessThan(5_000);
    expect(r.survivors).toEqual([]);
  });
});

describe("status and stdin", () => {
  it("reports the command's exit status", async () => {
    const { result } = await exec(newThread(), { command: "exit 3" });
    expect(result).toMatchObject({ exit_code: 3, signal: null, timed_out: false, truncated: false });
  });

  it("passes stdin to the command", async () => {
    const { result } = await exec(newThread(), { command: "cat", stdin: "abc" });
    expect(result).toMatchObject({ exit_code: 0, stdout: "abc" });
  });

  it("gives a command that reads stdin an immediate EOF when none is sent", async () => {
    const { result, wallMs } = await exec(newThread(), { command: "cat", timeout: 20 });
    expect(result).toMatchObject({ exit_code: 0, stdout: "", timed_out: false });
    expect(wallMs).toBeLessThan(5_000);
  });
});

describe("threads run independently", () => {
  it("one thread's long command does not block another thread", async () => {
    let slowDone = false;
    const slow = exec(newThread(), { command: "sleep 3" }).finally(() => (slowDone = true));
    const fast = await exec(newThread(), { command: "echo hi" });
    expect(fast.result).toMatchObject({ exit_code: 0, stdout: "hi\n" });
    expect(slowDone).toBe(false);
    expect((await slow).result).toMatchObject({ exit_code: 0, timed_out: false });
  });
});
