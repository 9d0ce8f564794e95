import { groupOf, limitIn, pidsWithEnv } from "../runtime/cgroup-paths.ts";
import { type HostileCase, poll } from "./hostile.ts";
import { guarded, pyExec } from "./programs.ts";

/**
 * SECURITY.md's whole-run rows (R22, R23): limits the rlimits alone cannot give, since RLIMIT_AS is per process and
 * RLIMIT_NPROC per uid. Each run is in a cgroup of its own with its `memory_mb` and `processes` for all of its
 * processes together, whatever sessions they make; the teardown check (hostile.ts) sees nothing of them left.
 */
const PROCS = 64;

/** Four children of 120 MiB each under memory_mb 256, holding it: each is under RLIMIT_AS, together they are not. */
const SPREAD_MEMORY = `
import os, time
for i in range(4):
    if os.fork() == 0:
        b = bytearray(120 * 2**20)
        for j in range(0, len(b), 4096):
            b[j] = 1
        time.sleep(1000)
        os._exit(0)
for _ in range(4):
    os.wait()
print("all four held their memory", flush=True)
`;

/** Eight session leaders (setsid), each forking until refused; the parent sums their reports and holds. */
const SPREAD_FORKS = `
import errno, os, time
r, w = os.pipe()
for i in range(8):
    if os.fork() == 0:
        os.setsid()
        n, failure = 0, None
        for _ in range(10000):
            try:
                pid = os.fork()
            except OSError as e:
                failure = errno.errorcode.get(e.errno)
                break
            if pid == 0:
                time.sleep(1000)
                os._exit(0)
            n += 1
        os.write(w, ("%d %s\\n" % (n, failure)).encode())
        time.sleep(1000)
        os._exit(0)
os.close(w)
reports = []
f = os.fdopen(r)
for _ in range(8):
    reports.append(f.readline().split())
print("forked", sum(int(n) for n, _ in reports), "then", sorted(set(e for _, e in reports)), flush=True)
time.sleep(1000)
`;

export const CGROUP_CASES: HostileCase[] = [
  {
    id: "R22",
    title: "four children of 120 MiB each under memory_mb 256",
    route: "exec",
    body: () => pyExec(guarded("memory", 2 ** 30, SPREAD_MEMORY), 30, { memory_mb: 256 }),
    check(out, { expect }) {
      expect(out.exec.stdout).not.toMatch(/held their memory|LIMIT VISIBLE/);
      expect(out.exec, JSON.stringify(out.exec)).toMatchObject({ memory_limit_exceeded: true, signal: "SIGKILL", exit_code: 137, timed_out: false });
      expect(out.exec.stderr).toMatch(/went over its memory limit of 256 MiB/);
    },
  },
  {
    id: "R23",
    title: "a fork storm from eight setsid'd session leaders",
    route: "exec",
    body: () => pyExec(guarded("processes", 4096, SPREAD_FORKS), 8, { processes: PROCS }),
    async during({ marker, expect }, settled) {
      // Every process of the run, whatever session it made, is in the run's one group, at the run's limit.
      const pids = await poll(() => pidsWithEnv(marker), (p) => p.length >= 20 || settled(), 200);
      // A run that ended before its storm grew is check()'s to judge, with its output.
      if (pids.length < 20 && settled()) return;
      expect(pids.length).toBeGreaterThanOrEqual(20);
      const groups = new Set(await Promise.all(pids.map((p) => groupOf(p, "pids"))));
      groups.delete(null); // exited since the scan
      expect(groups.size, [...groups].join("\n")).toBe(1);
      expect(await limitIn([...groups][0] as string, "pids.max")).toBe(PROCS);
    },
    check(out, { expect }) {
      expect(out.exec.stdout, JSON.stringify(out.exec)).toMatch(/forked \d+ then/);
      const m = /forked (\d+) then (.*)/.exec(out.exec.stdout);
      expect(m?.[2], out.exec.stdout + out.exec.stderr).toBe("['EAGAIN']");
      // The eight leaders and their parent count too.
      expect(Number(m?.[1]) + 9).toBeLessThanOrEqual(PROCS);
      expect(out.exec.timed_out).toBe(true);
    },
  },
];
