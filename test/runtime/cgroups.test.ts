import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCgroups, parseMountinfo, parseProcCgroup } from "../../runtime-container/src/sandbox/cgroup-detect.ts";
import type { Cgroup, CgroupTree } from "../../runtime-container/src/sandbox/cgroups.ts";
import { ThreadCgroups } from "../../runtime-container/src/sandbox/thread-cgroups.ts";

/*
 * sandbox/cgroups.ts against the kernel: real groups, real processes, real OOM kills. Each process enters its group
 * the way the launcher will make runs enter theirs: it writes its own pid to every DIR/cgroup.procs, then execs.
 */
const root = process.getuid?.() === 0;
const name = `threadbox-test-${process.pid}`;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `/usr/bin/python3 -c code` inside `group` (none: outside any), killed after `timeoutMs` at the latest. */
function runIn(group: Cgroup | null, code: string, timeoutMs = 60_000, onStart?: (pid: number) => void): Promise<Exit> {
  const enter = 'for d in "$@"; do echo 0 > "$d/cgroup.procs" || exit 97; done; exec /usr/bin/python3 -c "$PY"';
  const child = spawn("sh", ["-c", enter, "sh", ...(group?.dirs ?? [])], { env: { PATH: process.env.PATH, PY: code }, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid !== undefined) onStart?.(child.pid);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

/** Four children of 120 MiB each, every page touched; the parent prints how each ended. */
const FOUR_CHILDREN = `
import os, resource, time
kids = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            b = bytearray(120 * 2**20)
            for j in range(0, len(b), 4096):
                b[j] = 1
        except MemoryError:
            os._exit(12)
        time.sleep(2)
        os._exit(0)
    kids.append(pid)
ends = []
for pid in kids:
    _, status = os.waitpid(pid, 0)
    ends.append("signal %d" % os.WTERMSIG(status) if os.WIFSIGNALED(status) else "exit %d" % os.WEXITSTATUS(status))
print(",".join(ends), flush=True)
`;

const FORK_LOOP = `
import errno, os, time
n, failure = 0, None
for _ in range(10000):
    try:
        pid = os.fork()
    except OSError as e:
        failure = errno.errorcode.get(e.errno)
        break
    if pid == 0:
        null = os.open("/dev/null", os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        time.sleep(60)
        os._exit(0)
    n += 1
print("forked", n, "then", failure, flush=True)
`;

/** A tree that tries to leave: setsid daemons, a double fork; the parent prints the pids, then waits. */
const SCATTER = `
import os, subprocess, sys, time
p = [subprocess.Popen(["sleep", "600"], start_new_session=True).pid for _ in range(3)]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
print(" ".join(map(str, p)), flush=True)
time.sleep(600)
`;

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readStatus(pid));
function readStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return "";
  }
}

describe("cgroup parsing", () => {
  it("reads v1, v2 and co-mounted hierarchies from /proc", () => {
    const self = parseProcCgroup("4:memory:/a/b\n1:cpu,cpuacct:/\n0::/user.slice/x\n");
    expect(self.v2).toBe("/user.slice/x");
    expect(self.v1.get("memory")).toBe("/a/b");
    expect(self.v1.get("cpuacct")).toBe("/");
    const mounts = parseMountinfo(
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
        "41 31 0:38 /docker/x /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n" +
        "20 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
    );
    expect(mounts).toEqual([
      { root: "/", point: "/sys/fs/cgroup/memory", v2: false, options: ["rw", "memory"] },
      { root: "/docker/x", point: "/sys/fs/cgroup", v2: true, options: ["rw"] },
    ]);
  });
});

describe.skipIf(!root)("cgroups on this host (v1 where it offers them)", () => {
  let tree: CgroupTree;
  beforeAll(async () => {
    tree = await openCgroups(name);
  });
  afterAll(async () => {
    await tree?.destroy();
  });

  it("reports the version in use and which limits hold, in the runtime's own cgroup", () => {
    expect(tree.report.problem).toBeNull();
    expect(["v1", "v2"]).toContain(tree.report.mode);
    expect(tree.report.limits).toEqual({ memory: true, pids: true, cpu: true });
    for (const dir of tree.report.roots) {
      expect(dir.endsWith(`/${name}`)).toBe(true);
      expect(existsSync(dir)).toBe(true);
    }
  });

  it("holds four children of 120 MiB each under 256 MiB for the whole run: the kernel kills some (OOM)", async () => {
    // What RLIMIT_AS alone does with the same program: each child is under 256 MiB, so all four finish.
    const unbounded = await runIn(null, `import resource\nresource.setrlimit(resource.RLIMIT_AS, (256 * 2**20, 256 * 2**20))\n${FOUR_CHILDREN}`);
    expect(unbounded.stdout.trim(), unbounded.stderr).toBe("exit 0,exit 0,exit 0,exit 0");

    const group = await tree.create(["oom"], { memoryMb: 256 });
    const out = await runIn(group, FOUR_CHILDREN);
    const ends = out.stdout.trim().split(",");
    expect(ends, out.stderr).toHaveLength(4);
    expect(ends.filter((e) => e === "signal 9").length, out.stdout).toBeGreaterThanOrEqual(1);
    expect((await group.events()).oomKills).toBeGreaterThanOrEqual(1);
    await group.remove();
    expect(group.dirs.some((d) => existsSync(d))).toBe(false);
  });

  it("stops a fork loop at pids.max", async () => {
    const group = await tree.create(["forks"], { processes: 16 });
    const out = await runIn(group, FORK_LOOP);
    const m = /forked (\d+) then (\w+)/.exec(out.stdout);
    expect(m?.[2], out.stdout + out.stderr).toBe("EAGAIN");
    expect(Number(m?.[1])).toBeLessThan(16);
    expect((await group.events()).pidsMax).toBeGreaterThanOrEqual(1);
    await group.remove();
    expect(group.dirs.some((d) => existsSync(d))).toBe(false);
  });

  it("throttles CPU past the group's bandwidth", async () => {
    const group = await tree.create(["cpu"], { cpus: 0.1 });
    const out = await runIn(group, "n = 0\nfor i in range(2_000_000): n += i\nprint('done', flush=True)");
    expect(out.stdout).toBe("done\n");
    const cpuDir = group.dirs.find((d) => existsSync(`${d}/cpu.stat`)) as string;
    const stat = readFileSync(`${cpuDir}/cpu.stat`, "utf8");
    expect(Number(/nr_throttled (\d+)/.exec(stat)?.[1])).toBeGreaterThan(0);
    await group.remove();
  });

  it("kill-all leaves nothing, setsid daemons and double forks included", async () => {
    const group = await tree.create(["scatter"], { processes: 64 });
    let started = 0;
    const run = runIn(group, SCATTER, 60_000, (pid) => (started = pid));
    // Bounded wait for the tree to be up: the parent plus three sleeps and the double-forked sleeper.
    let pids: number[] = [];
    for (let i = 0; i < 200 && pids.length < 5; i++) {
      await new Promise((r) => setTimeout(r, 50));
      pids = await group.pids();
    }
    expect(pids.length, `pids in the group: ${pids}`).toBeGreaterThanOrEqual(5);
    expect(pids).toContain(started);
    expect(await group.killAll()).toBe(true);
    expect(await group.pids()).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
    expect((await run).signal).toBe("SIGKILL");
    await group.remove();
    expect(group.dirs.some((d) => existsSync(d))).toBe(false);
  });

  it("cleans a stale tree of its name at start-up (a runtime of the same slot died)", async () => {
    const staleName = `${name}-stale`;
    const first = await openCgroups(staleName);
    let second: CgroupTree | null = null;
    try {
      const group = await first.create(["left"], {});
      const run = runIn(group, "import time; time.sleep(600)");
      for (let i = 0; i < 200 && (await group.pids()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect((await group.pids()).length).toBe(1);
      second = await openCgroups(staleName);
      expect((await run).signal).toBe("SIGKILL");
      expect(group.dirs.some((d) => existsSync(d))).toBe(false);
      expect(second.report.roots.every((d) => existsSync(d))).toBe(true);
    } finally {
      await (second ?? first).destroy();
    }
    expect(first.report.roots.some((d) => existsSync(d))).toBe(false);
  });

  it("nests each run in its thread's group, and removes the thread's group with its last run", async () => {
    const threads = new ThreadCgroups(tree, { memoryMb: 1024, processes: 100 });
    const a = await threads.enter("acme", "t1", { memoryMb: 256, processes: 32 });
    const b = await threads.enter("acme", "t1", { memoryMb: 512, processes: 32 });
    expect(a && b).toBeTruthy();
    if (!a || !b) return;
    const threadDirs = a.dirs.map((d) => d.slice(0, d.lastIndexOf("/")));
    expect(threadDirs.every((d) => d.endsWith("/acme.t1"))).toBe(true);
    const memory = threadDirs.find((d) => existsSync(`${d}/memory.limit_in_bytes`) || existsSync(`${d}/memory.max`));
    if (tree.report.mode === "v1" && memory) {
      expect(readFileSync(`${memory}/memory.limit_in_bytes`, "utf8").trim()).toBe(String(1024 * 2 ** 20));
    }
    await a.leave();
    expect(a.dirs.some((d) => existsSync(d))).toBe(false);
    expect(threadDirs.every((d) => existsSync(d))).toBe(true);
    await b.leave();
    expect(threadDirs.some((d) => existsSync(d))).toBe(false);
  });
});

describe.skipIf(!root || !existsSync("/sys/fs/cgroup/unified/cgroup.procs") || existsSync("/sys/fs/cgroup/cgroup.controllers"))(
  "cgroup v2 mechanics on the hybrid host's unified tree (no controllers there: no limits hold)",
  () => {
    it("creates groups, kills all with cgroup.kill, removes them", async () => {
      const tree = await openCgroups(`${name}-v2`, { prefer: "v2" });
      try {
        expect(tree.report).toMatchObject({ mode: "v2", kill: "cgroup.kill", limits: { memory: false, pids: false, cpu: false } });
        const group = await tree.create(["g"], {});
        const run = runIn(group, SCATTER);
        let pids: number[] = [];
        for (let i = 0; i < 200 && pids.length < 5; i++) {
          await new Promise((r) => setTimeout(r, 50));
          pids = await group.pids();
        }
        expect(pids.length).toBeGreaterThanOrEqual(5);
        expect(await group.killAll()).toBe(true);
        expect(pids.filter(alive)).toEqual([]);
        expect((await run).signal).toBe("SIGKILL");
        await group.remove();
        expect(group.dirs.some((d) => existsSync(d))).toBe(false);
      } finally {
        await tree.destroy();
      }
    });
  },
);
