import type { HostileCase, Outcome } from "./hostile.ts";
import { guarded, pyExec } from "./programs.ts";

/**
 * SECURITY.md's process, memory and time rows (R1–R8). Small bounds keep the suite fast: timeouts of 3–10 s and
 * per-call `limits` (64 processes, 512 MiB, 1 CPU second). The exhausting ones run GUARD first, so a missing cap
 * fails the case instead of exhausting the machine.
 */
const GIB = 2 ** 30;
const PROCS = 64;

/** The guard's own message, named in a failure rather than hidden behind a generic mismatch. */
function noGuardStop(out: Outcome, text: string): void {
  if (text.includes("LIMIT VISIBLE")) throw new Error(`${text.trim().slice(0, 300)} (status ${out.status})`);
}

const FORK_LOOP = `
import errno, os, time
n, failure = 0, None
for _ in range(100000):
    try:
        pid = os.fork()
    except OSError as e:
        failure = errno.errorcode.get(e.errno, str(e.errno))
        break
    if pid == 0:
        time.sleep(1000)
        os._exit(0)
    n += 1
print("forked", n, "then", failure, flush=True)
time.sleep(1000)
`;

const THREAD_BOMB = `
import threading, time
n, failure = 0, None
for _ in range(100000):
    try:
        threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()
    except RuntimeError as e:
        failure = str(e)
        break
    n += 1
print("threads", n, "then", failure, flush=True)
`;

export const LIMIT_CASES: HostileCase[] = [
  {
    id: "R1",
    title: "Python fork loop",
    route: "exec",
    body: () => pyExec(guarded("processes", 4096, FORK_LOOP), 5, { processes: PROCS }),
    check(out, { expect }) {
      noGuardStop(out, out.exec.stdout);
      const m = /forked (\d+) then (\w+)/.exec(out.exec.stdout);
      expect(m?.[2], out.exec.stdout + out.exec.stderr).toBe("EAGAIN");
      expect(Number(m?.[1])).toBeLessThan(PROCS);
      expect(out.exec.timed_out).toBe(true);
    },
  },
  {
    id: "R2",
    title: "bash fork bomb :(){ :|:& };:",
    route: "exec",
    body: () => ({
      // The bomb's first generation exits at once; the shell then waits 4 s on a FIFO (no fork) so the bomb can grow.
      command: `python3 - <<'GUARD' || exit 3\n${guarded("processes", 4096, "")}\nGUARD\nmkfifo /tmp/hold && exec 3<>/tmp/hold\n:(){ :|:& };:\nread -t 4 -u 3`,
      timeout: 10,
      limits: { processes: PROCS },
    }),
    check(out, { expect }) {
      noGuardStop(out, out.exec.stdout);
      expect(out.exec.stderr, JSON.stringify(out.exec)).toMatch(/fork/i);
    },
  },
  {
    id: "R3",
    title: "thread bomb",
    route: "exec",
    body: () => pyExec(guarded("processes", 4096, THREAD_BOMB), 10, { processes: PROCS }),
    check(out, { expect }) {
      noGuardStop(out, out.exec.stdout);
      const m = /threads (\d+) then (.*)/.exec(out.exec.stdout);
      expect(m?.[2], out.exec.stdout + out.exec.stderr).toMatch(/can't start new thread/);
      expect(Number(m?.[1])).toBeLessThan(PROCS);
    },
  },
  {
    id: "R4",
    title: "bytearray(8 * 2**30)",
    route: "run_python",
    body: () => ({ code: guarded("memory", 4 * GIB, "x = bytearray(8 * 2**30)"), timeout: 30, limits: { memory_mb: 512 } }),
    check(out, { expect }) {
      noGuardStop(out, out.py.metadata.stdout);
      expect(out.py.metadata, out.py.text).toMatchObject({ error_code: "MEMORY_ERROR", timed_out: false });
      expect(out.py.is_error).toBe(true);
    },
  },
  {
    id: "R5",
    title: "a list of 10 MB chunks, forever",
    route: "run_python",
    body: () => ({
      code: guarded("memory", 4 * GIB, "chunks = []\nwhile True:\n    chunks.append(b'x' * (10 * 2**20))"),
      timeout: 30,
      limits: { memory_mb: 512 },
    }),
    check(out, { expect }) {
      noGuardStop(out, out.py.metadata.stdout);
      expect(out.py.metadata, out.py.text).toMatchObject({ error_code: "MEMORY_ERROR", timed_out: false });
    },
  },
  {
    id: "R6",
    title: "while True: pass",
    route: "run_python",
    body: () => ({ code: "while True:\n    pass", timeout: 3 }),
    check(out, { expect }) {
      expect(out.py.metadata).toMatchObject({ timed_out: true, error_code: "EXECUTION_TIMEOUT" });
      expect(out.py.is_error).toBe(true);
    },
  },
  {
    id: "R7",
    title: "R6 ignoring SIGTERM and SIGXCPU",
    route: "exec",
    body: () =>
      pyExec(
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass",
        3,
        { cpu_s: 1 },
      ),
    check(out, { expect }) {
      expect(out.exec).toMatchObject({ timed_out: true, signal: "SIGKILL", exit_code: 137 });
    },
  },
  {
    id: "R8",
    title: "time.sleep(10**6) under a 1 s CPU limit",
    route: "run_python",
    body: () => ({ code: "import time\ntime.sleep(10**6)", timeout: 3, limits: { cpu_s: 1 } }),
    check(out, { expect }) {
      expect(out.py.metadata).toMatchObject({ timed_out: true, error_code: "EXECUTION_TIMEOUT" });
    },
  },
];
