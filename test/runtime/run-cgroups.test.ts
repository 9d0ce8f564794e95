import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecResult, RunPythonResponse } from "../../shared/src/index.ts";
import { groupOf, groupsBelow, limitIn, pidsWithEnv, runtimeRoot } from "./cgroup-paths.ts";
import { contextClient } from "./context-client.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

/*
 * Whole-run limits in cgroups, through the runtime API, under proot and bwrap: a run's memory and processes are
 * counted for the whole run (RLIMIT_AS and RLIMIT_NPROC are per process and per uid), a thread's ceilings hold
 * for all of its runs together, and no group outlives what it holds. The runtimes have thread ceilings of 320 MiB
 * and 160 processes; runs default to 256 MiB and 64 processes.
 */
const root = process.getuid?.() === 0;
const MIB = 2 ** 20;
const ENV = { THREAD_MEMORY_MB: "320", THREAD_PROCESSES: "160", LIMIT_MEMORY_MB: "256", LIMIT_PROCESSES: "64" };

/** `n` children of `mib` MiB each, every page touched, that then hold it; the parent waits for them. */
const children = (n: number, mib: number, hold = 600) => `
import os, time
kids = []
for i in range(${n}):
    pid = os.fork()
    if pid == 0:
        b = bytearray(${mib} * 2**20)
        for j in range(0, len(b), 4096):
            b[j] = 1
        time.sleep(${hold})
        os._exit(0)
    kids.append(pid)
ends = []
for pid in kids:
    _, status = os.waitpid(pid, 0)
    ends.append("signal %d" % os.WTERMSIG(status) if os.WIFSIGNALED(status) else "exit %d" % os.WEXITSTATUS(status))
print(",".join(ends), flush=True)
`;

/** Forks (children that sleep) until refused; prints the count and why, holds `holdS`, then exits (the run ends). */
const forkUntilRefused = (holdS = 0) => `
import errno, os, time
n, failure = 0, None
for _ in range(10000):
    try:
        pid = os.fork()
    except OSError as e:
        failure = errno.errorcode.get(e.errno)
        break
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    n += 1
time.sleep(${holdS})
print("forked", n, "then", failure, flush=True)
os._exit(0)
`;

const forked = (out: ExecResult) => {
  const m = /forked (\d+) then (\w+)/.exec(out.stdout);
  if (!m) throw new Error(`no fork count: ${JSON.stringify(out)}`);
  return { n: Number(m[1]), failure: m[2] };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until `done` or `tries` run out; returns the last value. */
async function poll<T>(fn: () => Promise<T>, done: (v: T) => boolean, tries = 200, stepMs = 50): Promise<T> {
  let v = await fn();
  for (let i = 0; i < tries && !done(v); i++) {
    await sleep(stepMs);
    v = await fn();
  }
  return v;
}

describe.skipIf(!root).each(["proot", "bwrap"] as const)("cgroups for runs and contexts under %s", (backend) => {
  let rt: RuntimeProcess;
  let firstUid: number;
  const contexts = contextClient(() => rt);
  const thread = (label: string) => `cg-${label}-${randomUUID().slice(0, 8)}`;
  const exec = (t: string, body: Record<string, unknown>) => rt.json<ExecResult>("POST", `/threads/acme/${t}/exec`, { timeout: 60, ...body });
  const py = (t: string, body: Record<string, unknown>) => rt.json<RunPythonResponse>("POST", `/threads/acme/${t}/run_python`, { timeout: 60, ...body });
  /** The runtime's root group in each hierarchy, and what is below it. */
  const roots = () => Promise.all((["memory", "pids"] as const).map((c) => runtimeRoot(rt.child.pid as number, firstUid, c)));
  const leftBelowRoots = async () => (await Promise.all((await roots()).map((r) => groupsBelow(r)))).flat();

  beforeAll(async () => {
    rt = await startRuntime({ ...ENV, ISOLATION: backend });
    const health = await rt.json<{ layers: Record<string, unknown> }>("GET", "/health");
    expect(health.layers).toMatchObject({ cgroups: "v1", cgroup_limits: { memory: true, pids: true, cpu: true }, cgroup_problem: null });
    firstUid = (health.layers.uid_range as { first: number }).first;
    for (const dir of await roots()) expect(existsSync(dir), dir).toBe(true);
  });
  afterAll(async () => {
    const dirs = rt ? await roots().catch(() => []) : [];
    await rt?.stop();
    // The runtime removes its tree when it stops.
    for (const dir of dirs) expect(existsSync(dir), dir).toBe(false);
  });

  it("stops four children of 120 MiB under memory_mb 256: the limit holds for the whole run", async () => {
    const out = await exec(thread("four"), { command: "python3 -", stdin: children(4, 120), limits: { memory_mb: 256 } });
    expect(out, JSON.stringify(out)).toMatchObject({ memory_limit_exceeded: true, signal: "SIGKILL", exit_code: 137, timed_out: false });
    expect(out.stderr).toMatch(/went over its memory limit of 256 MiB \(limits\.memory_mb\)/);
  });

  it("answers run_python over its memory limit with MEMORY_ERROR", async () => {
    const out = await py(thread("four-py"), { code: children(4, 120), limits: { memory_mb: 256 } });
    expect(out.is_error).toBe(true);
    expect(out.metadata, out.text).toMatchObject({ error_code: "MEMORY_ERROR", memory_limit_exceeded: true, timed_out: false });
  });

  it("lets a run use its memory in several processes below the limit", async () => {
    const out = await exec(thread("fits"), { command: "python3 -", stdin: children(2, 60, 0), limits: { memory_mb: 256 } });
    expect(out, JSON.stringify(out)).toMatchObject({ exit_code: 0, stdout: "exit 0,exit 0\n" });
    expect(out.memory_limit_exceeded).toBeUndefined();
  });

  it("counts a run's processes on their own: a fork storm stops at the run's `processes`, a context's processes aside", async () => {
    const t = thread("forks");
    // The context holds 40 processes of the thread's uid: with RLIMIT_NPROC alone they would count against the run.
    const ctx = await contexts.create(t, { limits: { processes: 128 } });
    try {
      expect(await contexts.value(t, ctx.id, "import subprocess\nheld = [subprocess.Popen(['sleep', '600']) for _ in range(40)]\nlen(held)")).toBe("40");
      const out = await exec(t, { command: "python3 -", stdin: forkUntilRefused(), limits: { processes: 64 } });
      const { n, failure } = forked(out);
      expect(failure, out.stdout + out.stderr).toBe("EAGAIN");
      expect(n).toBeLessThan(64);
      expect(n, "the context's 40 processes took from the run's count").toBeGreaterThanOrEqual(40);
    } finally {
      await rt.call("DELETE", `/threads/acme/${t}/contexts/${ctx.id}`);
    }
  });

  it("puts a run in a group of its own with its limits, and leaves nothing of it (or its thread's group) after it", async () => {
    const t = thread("group");
    const marker = `cgmark${randomUUID().slice(0, 8)}`;
    // A daemon that leaves the run's session and outlives its command, and the command, which waits.
    const command = "setsid sleep 600 < /dev/null > /dev/null 2>&1 & sleep 600";
    const running = exec(t, { command, env: { TBX_MARK: marker }, timeout: 4, limits: { memory_mb: 200, processes: 50 } });
    const pids = await poll(() => pidsWithEnv(marker), (p) => p.length >= 3);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    const groups = new Set(await Promise.all(pids.map((p) => groupOf(p, "pids"))));
    expect(groups.size, [...groups].join("\n")).toBe(1);
    const group = [...groups][0] as string;
    const [, pidsRoot] = await roots();
    expect(path.relative(pidsRoot as string, group)).toMatch(new RegExp(`^acme\\.${t}/run-\\d+$`));
    expect(await limitIn(group, "pids.max")).toBe(50);
    const memory = await groupOf(pids[0] as number, "memory");
    expect(await limitIn(memory as string, "memory.limit_in_bytes")).toBe(200 * MIB);
    expect(path.basename(path.dirname(memory as string))).toBe(`acme.${t}`);
    expect(await limitIn(path.dirname(memory as string), "memory.limit_in_bytes")).toBe(320 * MIB);

    const out = await running;
    expect(out.timed_out).toBe(true);
    expect(await pidsWithEnv(marker)).toEqual([]);
    expect(existsSync(group)).toBe(false);
    expect(await leftBelowRoots()).toEqual([]);
  });

  it("gives a context's interpreter a group for its life: the same across cells, gone when the context is deleted", async () => {
    const t = thread("ctx");
    const marker = `cgctx${randomUUID().slice(0, 8)}`;
    const ctx = await contexts.create(t, { env: { TBX_MARK: marker }, limits: { memory_mb: 300, processes: 40 } });
    const groupNow = async () => {
      const pids = await pidsWithEnv(marker);
      return new Set(await Promise.all(pids.map((p) => groupOf(p, "pids"))));
    };
    expect(await contexts.value(t, ctx.id, "x = 41\nx + 1")).toBe("42");
    const first = await groupNow();
    expect(first.size).toBe(1);
    const group = [...first][0] as string;
    expect(await limitIn(group, "pids.max")).toBe(40);
    const memory = await groupOf((await pidsWithEnv(marker))[0] as number, "memory");
    expect(await limitIn(memory as string, "memory.limit_in_bytes")).toBe(300 * MIB);

    // A run of the thread meanwhile: a group of its own beside the context's, in the same thread's group.
    const run = await exec(t, { command: "cat /proc/self/cgroup >/dev/null; echo ran" });
    expect(run.stdout).toBe("ran\n");
    expect(await contexts.value(t, ctx.id, "x")).toBe("41");
    expect(await groupNow()).toEqual(first);
    expect(existsSync(group)).toBe(true);

    await rt.json("DELETE", `/threads/acme/${t}/contexts/${ctx.id}`);
    await poll(async () => existsSync(group), (e) => !e);
    expect(existsSync(group)).toBe(false);
    expect(await poll(() => pidsWithEnv(marker), (p) => p.length === 0)).toEqual([]);
    expect(await poll(leftBelowRoots, (l) => l.length === 0)).toEqual([]);
  });

  it("holds each thread's ceilings for the thread alone: two threads at theirs at once do not starve each other", async () => {
    const [a, b] = [thread("ceil-a"), thread("ceil-b")];
    // Each asks for more than its thread's ceiling of 160 processes: the thread's group stops it there.
    const storms = await Promise.all([a, b].map((t) => exec(t, { command: "python3 -", stdin: forkUntilRefused(2), limits: { processes: 256 } })));
    for (const out of storms) {
      const { n, failure } = forked(out);
      expect(failure, out.stdout + out.stderr).toBe("EAGAIN");
      expect(n).toBeLessThan(160);
      // Only the run's own machinery (launcher, backend) shares the thread's count with it.
      expect(n).toBeGreaterThanOrEqual(140);
    }
    // 400 MiB in all under a run limit of 512 MiB: the thread's 320 MiB stops each, whatever the other does.
    const hogs = await Promise.all([a, b].map((t) => exec(t, { command: "python3 -", stdin: children(4, 100), limits: { memory_mb: 512 } })));
    for (const out of hogs) expect(out, JSON.stringify(out)).toMatchObject({ memory_limit_exceeded: true, signal: "SIGKILL" });
    // And each thread's runs start and use their memory as before.
    const after = await Promise.all([a, b].map((t) => exec(t, { command: "python3 -", stdin: children(2, 100, 0) })));
    for (const out of after) expect(out, JSON.stringify(out)).toMatchObject({ exit_code: 0, stdout: "exit 0,exit 0\n" });
  });
});

describe.skipIf(!root)("CGROUPS settings", () => {
  it("off: no groups, the rlimits alone (RLIMIT_NPROC is the run's processes again), said in the layers", async () => {
    const rt = await startRuntime({ CGROUPS: "off" });
    try {
      const health = await rt.json<{ layers: Record<string, unknown> }>("GET", "/health");
      expect(health.layers).toMatchObject({ cgroups: "none", cgroup_limits: { memory: false, pids: false, cpu: false }, cgroup_problem: "disabled by configuration" });
      const first = (health.layers.uid_range as { first: number }).first;
      const out = await rt.json<ExecResult>("POST", "/threads/acme/cg-off/exec", { command: "ulimit -u; cat /proc/self/cgroup", limits: { processes: 64 } });
      expect(out.stdout.split("\n")[0]).toBe("64");
      expect(out.stdout).not.toContain(`threadbox-${first}`);
      expect(existsSync(await runtimeRoot(rt.child.pid as number, first, "pids"))).toBe(false);
    } finally {
      await rt.stop();
    }
  });

  it.skipIf(!existsSync("/sys/fs/cgroup/unified/cgroup.procs") || existsSync("/sys/fs/cgroup/cgroup.controllers"))(
    "v2 on a hybrid host: groups in the unified tree, which holds no limits (said in the layers); runs still end with nothing left",
    async () => {
      const rt = await startRuntime({ CGROUPS: "v2" });
      try {
        const health = await rt.json<{ layers: Record<string, unknown> }>("GET", "/health");
        expect(health.layers).toMatchObject({ cgroups: "v2", cgroup_limits: { memory: false, pids: false, cpu: false } });
        expect(String(health.layers.cgroup_problem)).toMatch(/no memory, pids, cpu controller/);
        const out = await rt.json<ExecResult>("POST", "/threads/acme/cg-v2/exec", { command: "cat /proc/self/cgroup; ulimit -u", limits: { processes: 64 } });
        expect(out.stdout).toMatch(/^0::\/.*threadbox-\d+\/acme\.cg-v2\/run-\d+$/m);
        expect(out.stdout.trim().split("\n").at(-1)).toBe("64");
        const own = /^0::(.*)$/m.exec(await readFile(`/proc/${rt.child.pid}/cgroup`, "utf8"))?.[1] ?? "/";
        const first = (health.layers.uid_range as { first: number }).first;
        const treeRoot = path.join("/sys/fs/cgroup/unified", own, `threadbox-${first}`);
        expect(existsSync(treeRoot)).toBe(true);
        expect(await groupsBelow(treeRoot)).toEqual([]);
      } finally {
        await rt.stop();
      }
    },
  );
});
