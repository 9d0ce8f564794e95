import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { execOn, type HostileCase } from "./hostile.ts";
import { DENIED, expectAllDenied, pyExec, type Report, REPORT, reported } from "./programs.ts";

/**
 * SECURITY.md's rows on what a run shares with the rest of the host besides files: System V IPC objects (X19: an
 * ipc namespace per run), and proot, the tracer every program of a proot run is traced by (X21: proot is pid 1 of
 * the run's pid namespace and runs as the thread's uid, so it must be out of reach in other ways).
 */
const IPC_CREATE = `${REPORT}
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
key, IPC_CREAT = int(os.environ["IPC_KEY"]), 0o1000
def made(r):
    return "CREATED" if r >= 0 else errno.errorcode.get(ctypes.get_errno())
report(shm=made(libc.shmget(key, 4096, IPC_CREAT | 0o666)), msg=made(libc.msgget(key, IPC_CREAT | 0o666)),
       sem=made(libc.semget(key, 1, IPC_CREAT | 0o666)))
`;

const IPC_LOOKUP = (key: number) =>
  `python3 -c 'import ctypes; l = ctypes.CDLL(None); print(l.shmget(${key}, 0, 0), l.msgget(${key}, 0), l.semget(${key}, 0, 0))'`;

/** The keys of the host's own System V objects (the runtime's ipc namespace), from /proc/sysvipc. */
function hostIpcKeys(): number[] {
  return ["shm", "msg", "sem"].flatMap((kind) =>
    readFileSync(`/proc/sysvipc/${kind}`, "utf8")
      .split("\n")
      .slice(1)
      .map((line) => Number(line.trim().split(/\s+/)[0]))
      .filter((k) => Number.isFinite(k)),
  );
}

const keys = new Map<string, number>();
const keyOf = (marker: string) => {
  if (!keys.has(marker)) keys.set(marker, randomInt(1, 2 ** 31 - 1));
  return keys.get(marker) as number;
};

// Finds the tracer (TracerPid) and tries every way at its memory and descriptors that does not write to it.
const TRACER = `${REPORT}
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = libc.ptrace.restype = ctypes.c_long
tracer = int([l.split()[1] for l in open("/proc/self/status") if l.startswith("TracerPid:")][0])
found = {"tracer": str(tracer)}
def err():
    return errno.errorcode.get(ctypes.get_errno(), "?")
def attempt(label, fn):
    try:
        fn()
        found[label] = "OPENED"
    except OSError as e:
        found[label] = errno.errorcode.get(e.errno, str(e))
attempt("mem", lambda: open("/proc/%d/mem" % tracer, "r+b").close())
attempt("environ", lambda: open("/proc/%d/environ" % tracer, "rb").read())
attempt("fd", lambda: os.listdir("/proc/%d/fd" % tracer))
address = 0x10000
try:
    address = int(open("/proc/%d/maps" % tracer).readline().split("-")[0], 16)
    found["maps"] = "OPENED"
except OSError as e:
    found["maps"] = errno.errorcode.get(e.errno, str(e))
class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
buf = ctypes.create_string_buffer(16)
local, remote = Iovec(ctypes.addressof(buf), 16), Iovec(address, 16)
nr = {"x86_64": (310, 434, 438), "aarch64": (270, 434, 438)}[os.uname().machine]
r = libc.syscall(ctypes.c_long(nr[0]), ctypes.c_long(tracer), ctypes.byref(local), ctypes.c_long(1), ctypes.byref(remote), ctypes.c_long(1), ctypes.c_long(0))
found["process_vm_readv"] = "READ" if r >= 0 else err()
pidfd = libc.syscall(ctypes.c_long(nr[1]), ctypes.c_long(tracer), ctypes.c_long(0))
r = libc.syscall(ctypes.c_long(nr[2]), ctypes.c_long(pidfd), ctypes.c_long(1), ctypes.c_long(0)) if pidfd >= 0 else -1
found["pidfd_getfd"] = "GOT" if r >= 0 else err()
r = libc.ptrace(ctypes.c_long(16), ctypes.c_long(tracer), None, None)
found["ptrace_attach"] = "ATTACHED" if r == 0 else err()
report(**found)
`;

export const NAMESPACE_CASES: HostileCase[] = [
  {
    id: "X19",
    title: "create System V shared memory, a message queue and a semaphore; look them up from another thread",
    route: "exec",
    body: (ctx) => ({ ...pyExec(IPC_CREATE, 30), env: { IPC_KEY: String(keyOf(ctx.marker)) } }),
    async check(out, ctx) {
      const key = keyOf(ctx.marker);
      keys.delete(ctx.marker);
      ctx.expect(reported(out.exec.stdout)).toEqual({ shm: "CREATED", msg: "CREATED", sem: "CREATED" });
      // Gone with the run's ipc namespace: not in the host's, not in another thread's run.
      ctx.expect(hostIpcKeys()).not.toContain(key);
      const other = await execOn(ctx.target, ctx.bystander, IPC_LOOKUP(key));
      ctx.expect(other.stdout.trim()).toBe("-1 -1 -1");
    },
  },
  {
    id: "X21",
    title: "reach proot (the tracer): its /proc memory, environment and fds, process_vm_readv, pidfd_getfd, ptrace",
    route: "exec",
    backends: ["proot"],
    body: () => pyExec(TRACER, 30),
    check(out, ctx) {
      const { tracer, ...found } = reported<Report>(out.exec.stdout);
      ctx.expect(Number(tracer), "the program is traced by proot").toBeGreaterThan(0);
      // ESRCH: proot answers ptrace itself (it emulates it for its tracees) and knows no tracee of that pid.
      expectAllDenied(ctx, found, [...DENIED, "EPERM", "EACCES"]);
    },
  },
];
