import type { HostileCase } from "./hostile.ts";
import { pyExec, REPORT, reported, SYSCALL } from "./programs.ts";
import type { Backend } from "./target.ts";

/**
 * SECURITY.md's filter rows (X22a–m): syscalls no sandboxed program needs, each tried the way an exploit would
 * start, with the filter expected to answer EPERM. Several would succeed for an unprivileged uid without the
 * filter (a user namespace, pidfd_getfd, userfaultfd, the key store, personality, perf_event_open, ptrace of a
 * child); the others need a capability the sandbox lacks anyway, and the filter is the second wall.
 */
const NR = `
import os
NR = {
    "x86_64": dict(unshare=272, clone=56, setns=308, mount=165, umount2=166, pivot_root=155, open_tree=428,
                   move_mount=429, fsopen=430, fsconfig=431, fsmount=432, fspick=433, mount_setattr=442, ptrace=101,
                   process_vm_readv=310, process_vm_writev=311, pidfd_open=434, pidfd_getfd=438, userfaultfd=323,
                   add_key=248, request_key=249, keyctl=250, personality=135, perf_event_open=298, bpf=321,
                   kexec_load=246, kexec_file_load=320, init_module=175, finit_module=313, delete_module=176,
                   iopl=172, ioperm=173, swapon=167, swapoff=168, reboot=169, acct=163, quotactl=179),
    "aarch64": dict(unshare=97, clone=220, setns=268, mount=40, umount2=39, pivot_root=41, open_tree=428,
                    move_mount=429, fsopen=430, fsconfig=431, fsmount=432, fspick=433, mount_setattr=442, ptrace=117,
                    process_vm_readv=270, process_vm_writev=271, pidfd_open=434, pidfd_getfd=438, userfaultfd=282,
                    add_key=217, request_key=218, keyctl=219, personality=92, perf_event_open=241, bpf=280,
                    kexec_load=104, kexec_file_load=294, init_module=105, finit_module=273, delete_module=106,
                    swapon=224, swapoff=225, reboot=142, acct=89, quotactl=60),
}[os.uname().machine]
def call(name, *args):
    return sys_call(NR[name], *args)[1]
`;

const program = (body: string) => `${REPORT}${SYSCALL}${NR}${body}`;

interface FilterRow {
  id: string;
  title: string;
  body: string;
  backends?: readonly Backend[];
  /** Results other than EPERM this row expects for some of its calls (a positive control). */
  expect?: Record<string, string>;
}

const ROWS: FilterRow[] = [
  {
    id: "X22a",
    title: "unshare a user, mount, pid or network namespace",
    body: `report(user=call("unshare", 0x10000000), mount=call("unshare", 0x00020000), pid=call("unshare", 0x20000000),
       net=call("unshare", 0x40000000), time=call("unshare", 0x80))`,
  },
  {
    id: "X22b",
    title: "clone with CLONE_NEWUSER (and CLONE_NEWNET)",
    // A child that did come to life exits at once; the parent reaps it.
    body: `r, e = sys_call(NR["clone"], 0x10000000 | 17, 0, 0, 0, 0)
if r == 0:
    os._exit(0)
if r > 0:
    os.waitpid(r, 0)
r2, e2 = sys_call(NR["clone"], 0x40000000 | 17, 0, 0, 0, 0)
if r2 == 0:
    os._exit(0)
if r2 > 0:
    os.waitpid(r2, 0)
report(newuser=e, newnet=e2)`,
  },
  {
    id: "X22c",
    title: "setns into its own user and network namespaces",
    // proot cannot open the nsfs links; another fd still tells the filter (EPERM) from the kernel (EINVAL) apart.
    body: `def ns_fd(kind):
    try:
        return os.open("/proc/self/ns/" + kind, os.O_RDONLY)
    except OSError:
        return 0
report(user=call("setns", ns_fd("user"), 0x10000000), net=call("setns", ns_fd("net"), 0x40000000))`,
  },
  {
    id: "X22d",
    title: "the mount family: mount, umount2, pivot_root, open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr",
    body: `report(mount=call("mount", b"none", b"/tmp", b"tmpfs", 0, 0), umount2=call("umount2", b"/tmp", 2),
       pivot_root=call("pivot_root", b".", b"."), open_tree=call("open_tree", -100, b"/", 1),
       move_mount=call("move_mount", -1, b"", -100, b"/tmp", 4), fsopen=call("fsopen", b"tmpfs", 0),
       fsconfig=call("fsconfig", -1, 0, 0, 0, 0), fsmount=call("fsmount", -1, 0, 0), fspick=call("fspick", -100, b"/", 0),
       mount_setattr=call("mount_setattr", -100, b"/", 0, 0, 0))`,
  },
  {
    id: "X22e",
    title: "ptrace ATTACH and SEIZE of its own child",
    // Under proot every ptrace call is answered by proot itself, among its own tracees (X6 and X21 show it reaches
    // nothing else): the filter's argument check matters where the kernel sees the call.
    backends: ["bwrap"],
    body: `import time
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
attach = call("ptrace", 16, pid, 0, 0)
seize = call("ptrace", 0x4206, pid, 0, 0)
os.kill(pid, 9)
os.waitpid(pid, 0)
report(attach=attach, seize=seize)`,
  },
  {
    id: "X22f",
    title: "process_vm_readv and process_vm_writev on itself",
    // proot reads its tracees' memory with these (and is itself non-dumpable, out of reach: X21).
    backends: ["bwrap"],
    body: `buf = ctypes.create_string_buffer(8)
class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
iov = Iovec(ctypes.addressof(buf), 8)
report(readv=call("process_vm_readv", os.getpid(), ctypes.byref(iov), 1, ctypes.byref(iov), 1, 0),
       writev=call("process_vm_writev", os.getpid(), ctypes.byref(iov), 1, ctypes.byref(iov), 1, 0))`,
  },
  {
    id: "X22g",
    title: "pidfd_getfd: take a descriptor of another process (itself)",
    body: `pidfd, e = sys_call(NR["pidfd_open"], os.getpid(), 0)
report(pidfd_getfd=call("pidfd_getfd", pidfd, 1, 0) if pidfd >= 0 else "pidfd_open " + e)`,
  },
  {
    id: "X22h",
    title: "userfaultfd (user-mode faults only, which needs no privilege)",
    body: `report(userfaultfd=call("userfaultfd", 1))`,
  },
  {
    id: "X22i",
    title: "the key store: keyctl, add_key, request_key",
    body: `report(keyctl=call("keyctl", 0, -3, 1), add_key=call("add_key", b"user", b"tbx", b"secret", 6, -2),
       request_key=call("request_key", b"user", b"tbx", 0, -2))`,
  },
  {
    id: "X22j",
    title: "personality: ADDR_NO_RANDOMIZE and READ_IMPLIES_EXEC (the query stays allowed)",
    expect: { query: "OK" },
    body: `report(no_randomize=call("personality", 0x0040000), read_implies_exec=call("personality", 0x0400000),
       query=call("personality", 0xffffffff))`,
  },
  {
    id: "X22k",
    title: "perf_event_open on itself (a software counter)",
    body: `attr = ctypes.create_string_buffer(128)
# PERF_TYPE_SOFTWARE, size 128, cpu-clock; disabled and exclude_kernel (what perf_event_paranoid 2 allows).
ctypes.memmove(attr, (1).to_bytes(4, "little") + (128).to_bytes(4, "little"), 8)
ctypes.memmove(ctypes.addressof(attr) + 40, bytes([0x21]), 1)
report(perf_event_open=call("perf_event_open", attr, 0, -1, -1, 0))`,
  },
  {
    id: "X22l",
    title: "bpf: create a map",
    body: `attr = ctypes.create_string_buffer(128)
# BPF_MAP_CREATE of a hash map: type 1, 4-byte keys and values, one entry.
ctypes.memmove(attr, b"".join(v.to_bytes(4, "little") for v in (1, 4, 4, 1)), 16)
report(bpf=call("bpf", 0, attr, 128))`,
  },
  {
    id: "X22m",
    title: "kernel administration: kexec, modules, iopl/ioperm, swap, reboot, acct, quotactl",
    body: `found = dict(kexec_load=call("kexec_load", 0, 0, 0, 0), kexec_file_load=call("kexec_file_load", -1, -1, 0, 0, 0),
             init_module=call("init_module", 0, 0, b""), finit_module=call("finit_module", -1, b"", 0),
             delete_module=call("delete_module", b"threadbox", 0), swapon=call("swapon", b"/nonexistent", 0),
             swapoff=call("swapoff", b"/nonexistent"), reboot=call("reboot", 0xfee1dead, 672274793, 0, 0),
             acct=call("acct", 0), quotactl=call("quotactl", 0x80000200, b"/", 0, 0))
if "iopl" in NR:
    found.update(iopl=call("iopl", 3), ioperm=call("ioperm", 0x80, 1, 1))
report(**found)`,
  },
];

export const SYSCALL_CASES: HostileCase[] = ROWS.map((row) => ({
  id: row.id,
  title: row.title,
  route: "exec",
  backends: row.backends,
  body: () => pyExec(program(row.body), 30),
  check(out, ctx) {
    const found = reported<Record<string, string>>(out.exec.stdout);
    ctx.expect(Object.keys(found).length).toBeGreaterThan(0);
    for (const [call, answer] of Object.entries(found)) ctx.expect(answer, call).toBe(row.expect?.[call] ?? "EPERM");
  },
}));
