import { existsSync } from "node:fs";
import { execOn, type HostileCase } from "./hostile.ts";
import { residentBytes } from "./processes.ts";
import { pyExec } from "./programs.ts";
import { OUTPUT_CAP, TENANT } from "./target.ts";

/**
 * SECURITY.md's output and file rows (R13–R17, R20) and the crash row (R21), with the suite runtime's 64 KiB output
 * cap and per-call limits (1 MiB files, 64 fds).
 */
const bytes = (s: string) => Buffer.byteLength(s, "utf8");

const FILL_FILE = `
import errno
chunk, written, failure = b"\\0" * 2**20, 0, None
with open("/big.bin", "wb", buffering=0) as f:
    for _ in range(64):
        try:
            f.write(chunk)
        except OSError as e:
            failure = errno.errorcode.get(e.errno)
            break
        written += 1
print("wrote", written, "MiB then", failure, flush=True)
`;

const MANY_FILES = `
import os
os.makedirs("/many", exist_ok=True)
n, failure = 0, None
for i in range(10**6):
    try:
        open("/many/%d" % i, "w").close()
    except OSError as e:
        failure = e.strerror
        break
    n += 1
print("created", n, "then", failure, flush=True)
`;

const OPEN_FILES = `
import errno, os
fds, failure = [], None
for _ in range(100000):
    try:
        fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as e:
        failure = errno.errorcode.get(e.errno)
        break
print("opened", len(fds), "then", failure, flush=True)
`;

// Python 3.11+ keeps Python-to-Python calls off the C stack; recursion through __getattr__ goes through C.
const C_RECURSION = `
import sys
sys.setrecursionlimit(10**9)
class Deep:
    def __getattr__(self, name):
        return getattr(self, name)
print("recursing", flush=True)
Deep().x
`;

/** Server RSS before R13, by case marker. */
const rssBefore = new Map<string, number>();

export const IO_CASES: HostileCase[] = [
  {
    id: "R13",
    title: 'while True: print("x" * 1000)',
    route: "exec",
    body: () => pyExec('while True:\n    print("x" * 1000)', 60),
    async prepare(ctx) {
      rssBefore.set(ctx.marker, await residentBytes(ctx.target.pid));
    },
    async check(out, { expect, marker, target }) {
      expect(out.exec).toMatchObject({ truncated: true, timed_out: false });
      expect(out.exec.exit_code).not.toBe(0);
      expect(bytes(out.exec.stdout) + bytes(out.exec.stderr)).toBeLessThanOrEqual(OUTPUT_CAP);
      // Bounded server memory: the cap is 64 KiB; a server that buffered the stream would grow far past this.
      const grown = (await residentBytes(target.pid)) - (rssBefore.get(marker) ?? 0);
      expect(grown).toBeLessThan(256 * 2 ** 20);
    },
  },
  {
    id: "R14",
    title: "1 GB without a newline on stdout and on stderr",
    route: "exec",
    body: () => ({
      command: "head -c 1000000000 /dev/zero | tr '\\0' x & head -c 1000000000 /dev/zero | tr '\\0' y >&2; wait",
      timeout: 60,
    }),
    check(out, { expect }) {
      expect(out.exec).toMatchObject({ truncated: true, timed_out: false });
      // Each stream alone could fill the cap: together they stay within it.
      expect(bytes(out.exec.stdout) + bytes(out.exec.stderr)).toBeLessThanOrEqual(OUTPUT_CAP);
    },
  },
  {
    id: "R15",
    title: "random bytes to stdout and stderr",
    route: "exec",
    body: () => ({ command: "head -c 40000 /dev/urandom; head -c 20000 /dev/urandom >&2", timeout: 30 }),
    check(out, { expect }) {
      expect(out.status).toBe(200);
      expect(() => new TextDecoder("utf-8", { fatal: true }).decode(out.bytes)).not.toThrow();
      expect(out.exec).toMatchObject({ exit_code: 0, truncated: false });
      expect(out.exec.stdout.length).toBeGreaterThan(0);
      expect(out.exec.stderr.length).toBeGreaterThan(0);
    },
  },
  {
    id: "R16",
    title: "write a file past the file-size limit",
    route: "exec",
    body: () => pyExec(FILL_FILE, 30, { file_size_mb: 1 }),
    async check(out, { expect, target, bystander }) {
      expect(out.exec.stdout).toMatch(/then EFBIG/);
      // Other workspaces stay writable, beyond this run's limit.
      const other = await execOn(target, bystander, "head -c 4194304 /dev/zero > /other.bin && stat -c %s /other.bin");
      expect(other).toMatchObject({ exit_code: 0, stdout: "4194304\n" });
    },
  },
  {
    id: "R17",
    title: "create 10^6 empty files",
    route: "exec",
    body: () => pyExec(MANY_FILES, 5),
    async check(out, { expect, target, thread, dir }) {
      const capped = /then (No space|Disk quota|Too many)/.test(out.exec.stdout);
      // Or stopped by the thread's inode quota (THREAD_INODES), whichever comes first.
      expect(out.exec.timed_out || capped || out.exec.disk_quota_exceeded === true, out.exec.stdout).toBe(true);
      // Teardown stays bounded: the thread, thousands of files and all, can be deleted.
      const res = await target.rt.call("DELETE", `/threads/${TENANT}/${thread}`);
      expect(res.status).toBe(200);
      expect(existsSync(dir)).toBe(false);
    },
  },
  {
    id: "R20",
    title: "open files until EMFILE",
    route: "exec",
    body: () => pyExec(OPEN_FILES, 30, { open_files: 64 }),
    check(out, { expect }) {
      const m = /opened (\d+) then (\w+)/.exec(out.exec.stdout);
      expect(m?.[2], out.exec.stdout + out.exec.stderr).toBe("EMFILE");
      expect(Number(m?.[1])).toBeLessThan(64);
    },
  },
  {
    id: "R21",
    title: "unbounded recursion with a huge recursion limit",
    route: "exec",
    body: () => pyExec(C_RECURSION, 30),
    check(out, { expect }) {
      expect(out.exec.stdout).toBe("recursing\n");
      // The crash is this run's, and reported as the signal (SIGSEGV: 128 + 11).
      expect(out.exec.exit_code === 139 || out.exec.signal === "SIGSEGV", JSON.stringify(out.exec)).toBe(true);
      expect(out.exec.timed_out).toBe(false);
    },
  },
];

