import { existsSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_SECRET } from "../runtime/harness.ts";
import type { CaseContext, HostileCase } from "./hostile.ts";
import { listeningPorts } from "./processes.ts";
import { DENIED, expectAllDenied, hostFile, pyExec, type Report, REPORT, reported, SYSCALL } from "./programs.ts";
import { TENANT } from "./target.ts";

/**
 * SECURITY.md's reach rows (X1–X7): what a program must not read, open, signal, trace or connect to. Host paths
 * are handed to the programs in their environment, as an attacker who knows the layout would use them.
 */
const SERVER_SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../runtime-container/src/main.ts");

const READS = `${REPORT}
import errno, os
found = {}
for label, p in [("shadow", "/etc/shadow"), ("server source", os.environ["SERVER_SRC"]),
                 ("other thread", os.environ["OTHER_WS"] + "/secret.txt"), ("other thread, relative", "/../" + os.environ["OTHER"] + "/secret.txt")]:
    try:
        open(p, "rb").read()
        found[label] = "READ"
    except OSError as e:
        found[label] = errno.errorcode.get(e.errno)
report(**found)
`;

const RAW_SYSCALLS = `${REPORT}${SYSCALL}
import os
class OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]
how = OpenHow(0, 0, 0)
script = os.environ["HOST_SCRIPT"].encode()
argv = (ctypes.c_char_p * 2)(script, None)
execveat = {"x86_64": 322, "aarch64": 281}[os.uname().machine]
report(
    openat2=sys_call(437, -100, os.environ["SERVER_SRC"].encode(), ctypes.byref(how), 24)[1],
    fchmodat2=sys_call(452, -100, os.environ["HOST_FILE"].encode(), 0o777, 0)[1],
    execveat=sys_call(execveat, -100, script, argv, None, 0)[1],
)
`;

// Scans /proc for ~3 s, so it overlaps the bystander's run.
const PROC_SCAN = `${REPORT}
import os, time
environ, cmdline, pids = set(), set(), set()
for _ in range(30):
    for p in os.listdir("/proc"):
        if p.isdigit():
            pids.add(p)
            for name, into in (("environ", environ), ("cmdline", cmdline)):
                try:
                    into.add(open("/proc/%s/%s" % (p, name), "rb").read().decode("latin1"))
                except OSError:
                    pass
    time.sleep(0.1)
report(pids=len(pids), environ=sorted(environ), cmdline=sorted(cmdline))
`;

// Bounded in time and count; kill(-1) spares only the caller and the namespace's init.
const KILL_ALL = `
import errno, os, time
try:
    os.kill(int(os.environ["SERVER_PID"]), 9)
    print("server: SENT", flush=True)
except OSError as e:
    print("server:", errno.errorcode.get(e.errno), flush=True)
deadline, calls = time.time() + 3, 0
while time.time() < deadline and calls < 1000:
    try:
        os.kill(-1, 9)
    except OSError:
        pass
    calls += 1
    time.sleep(0.01)
print("kill(-1) calls", calls, flush=True)
`;

const PTRACE = `${REPORT}
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
server = int(os.environ["SERVER_PID"])
def ptrace(req):
    return "OK" if libc.ptrace(ctypes.c_long(req), ctypes.c_long(server), None, None) == 0 else errno.errorcode.get(ctypes.get_errno())
try:
    open("/proc/%d/mem" % server, "rb").close()
    mem = "OPENED"
except OSError as e:
    mem = errno.errorcode.get(e.errno)
report(attach=ptrace(16), seize=ptrace(0x4206), mem=mem)
`;

// An unsigned call to every port the runtime listens on, asking it to run a command in the bystander's thread.
const LOOPBACK = `${REPORT}
import errno, os, socket
body = b'{"command":"touch /x7-pwned"}'
head = "POST /threads/${TENANT}/%s/exec HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n"
found = {}
for spec in os.environ["PORTS"].split(","):
    host, port = spec.rsplit(":", 1)
    try:
        s = socket.create_connection((host, int(port)), timeout=3)
    except OSError as e:
        found[spec] = "refused " + str(errno.errorcode.get(e.errno) if e.errno else e)
        continue
    s.settimeout(5)
    s.sendall((head % (os.environ["OTHER"], len(body))).encode() + body)
    data = b""
    try:
        while len(data) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    found[spec] = data.split(b"\\r\\n", 1)[0].decode("latin1")
report(**found)
`;

/** The runtime's loopback listeners as host:port, for X7. */
async function loopbackPorts(ctx: CaseContext): Promise<string> {
  const ports = await listeningPorts(ctx.target.pid);
  ctx.expect(ports.length, "the runtime listens on no TCP port?").toBeGreaterThan(0);
  return ports.map((p) => `${p.v6 ? "::1" : "127.0.0.1"}:${p.port}`).join(",");
}
const portsFor = new Map<string, string>();

const loopbackCase = (id: string, title: string, setup?: { network: "none" }): HostileCase => ({
  id,
  title,
  route: "exec",
  setup,
  async prepare(ctx) {
    portsFor.set(ctx.marker, await loopbackPorts(ctx));
  },
  body: (ctx) => ({ ...pyExec(LOOPBACK, 30), env: { PORTS: portsFor.get(ctx.marker) ?? "", OTHER: ctx.bystander } }),
  check(out, ctx) {
    // Either way the sandbox has a network namespace of its own: the runtime's loopback is not in it.
    const found = reported<Report>(out.exec.stdout);
    ctx.expect(Object.keys(found).length).toBeGreaterThan(0);
    for (const [port, answer] of Object.entries(found)) ctx.expect(answer, port).toMatch(/^refused E(CONNREFUSED|HOSTUNREACH|NETUNREACH)$/);
    ctx.expect(existsSync(path.join(ctx.target.dir(ctx.bystander), "x7-pwned"))).toBe(false);
  },
});

export const REACH_CASES: HostileCase[] = [
  {
    id: "X1",
    title: "read /etc/shadow, the server's source, another thread's workspace",
    route: "exec",
    async prepare(ctx) {
      writeFileSync(path.join(ctx.target.dir(ctx.bystander), "secret.txt"), "other thread's secret");
    },
    body: (ctx) => ({
      ...pyExec(READS, 30),
      env: { SERVER_SRC: SERVER_SOURCE, OTHER_WS: ctx.target.dir(ctx.bystander), OTHER: ctx.bystander },
    }),
    check(out, ctx) {
      expectAllDenied(ctx, reported(out.exec.stdout), ["ENOENT", "EACCES", "EPERM"]);
    },
  },
  {
    id: "X2",
    title: "io_uring",
    route: "exec",
    body: () => pyExec(`${REPORT}${SYSCALL}\nreport(io_uring_setup=sys_call(425, 8, ctypes.create_string_buffer(120))[1])`, 30),
    check(out, ctx) {
      expectAllDenied(ctx, reported(out.exec.stdout), ["EPERM", "ENOSYS", "EACCES"]);
    },
  },
  {
    id: "X3",
    title: "raw openat2, fchmodat2, execveat on host paths",
    route: "exec",
    async prepare(ctx) {
      writeFileSync(hostFile(ctx, "x3-file"), "host file", { mode: 0o644 });
      writeFileSync(hostFile(ctx, "x3-script"), "#!/bin/sh\necho EXECUTED-HOST-SCRIPT\n", { mode: 0o755 });
    },
    body: (ctx) => ({
      ...pyExec(RAW_SYSCALLS, 30),
      env: { SERVER_SRC: SERVER_SOURCE, HOST_FILE: hostFile(ctx, "x3-file"), HOST_SCRIPT: hostFile(ctx, "x3-script") },
    }),
    async check(out, ctx) {
      ctx.expect(out.exec.stdout).not.toContain("EXECUTED-HOST-SCRIPT");
      expectAllDenied(ctx, reported(out.exec.stdout));
      ctx.expect(statSync(hostFile(ctx, "x3-file")).mode & 0o777).toBe(0o644);
    },
  },
  {
    id: "X4",
    title: "cat /proc/*/environ, ls /proc",
    route: "exec",
    body: () => pyExec(PROC_SCAN, 30),
    check(out, ctx) {
      const found = reported<{ environ: string[]; cmdline: string[] }>(out.exec.stdout);
      const secrets = [TEST_SECRET, ...ctx.target.canaries, "HMAC_SECRET"];
      for (const env of found.environ) for (const s of secrets) ctx.expect(env).not.toContain(s);
      for (const cmd of found.cmdline) {
        ctx.expect(cmd).not.toMatch(/runtime-container|vitest|wrangler|workerd/);
        ctx.expect(cmd, "another thread's process").not.toContain(`bystander-${ctx.marker}`);
      }
    },
  },
  {
    id: "X5",
    title: "os.kill(-1, 9) and kill the server's pid",
    route: "exec",
    body: (ctx) => ({ ...pyExec(KILL_ALL, 30), env: { SERVER_PID: String(ctx.target.pid) } }),
    check(out, ctx) {
      ctx.expect(out.status).toBe(200);
      ctx.expect(out.exec.stdout).toMatch(/^server: (ESRCH|EPERM)\n/);
    },
  },
  {
    id: "X6",
    title: "ptrace attach to the server",
    route: "exec",
    body: (ctx) => ({ ...pyExec(PTRACE, 30), env: { SERVER_PID: String(ctx.target.pid) } }),
    check(out, ctx) {
      const found = reported<Report>(out.exec.stdout);
      ctx.expect(["EPERM", "ESRCH"]).toContain(found.attach);
      ctx.expect(["EPERM", "ESRCH"]).toContain(found.seize);
      ctx.expect(DENIED).toContain(found.mem);
    },
  },
  loopbackCase("X7", "TCP connect to every loopback port the runtime listens on"),
  loopbackCase("X7n", 'the same from a thread with network: "none"', { network: "none" }),
];
