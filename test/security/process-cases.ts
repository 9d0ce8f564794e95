import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { HostileCase } from "./hostile.ts";
import { poll } from "./hostile.ts";
import { processesOf } from "./processes.ts";
import { pyExec } from "./programs.ts";

/**
 * SECURITY.md's process-tree rows: daemons that try to outlive their run (R9–R11), a storm of orphans (R12), and
 * multithreaded programs that must simply work under proot (X18). "No survivor" is what the runner checks after
 * every case; these cases add what the row itself expects.
 */
const SETSID_CHILD = `
import os, time
r, w = os.pipe()
if os.fork() == 0:
    os.close(r)
    os.setsid()
    os.write(w, b"up")
    os.close(w)
    time.sleep(10**6)
    os._exit(0)
os.close(w)
print("parent exits; child", os.read(r, 2).decode(), flush=True)
`;

// After proot is killed, an untraced child would see the host's paths: it tries to read a host-only file and to
// write it into the workspace through the workspace's host path.
const UNTRACED_CHILD = `
import os, time
if os.fork() == 0:
    os.setsid()
    open("/r11-up", "w").close()
    for _ in range(600):
        try:
            data = open(os.environ["HOST_CANARY"]).read()
            open(os.path.join(os.environ["HOST_WS"], "leak"), "w").write(data)
        except OSError:
            pass
        time.sleep(0.05)
    os._exit(0)
time.sleep(1000)
`;

// Each grandchild renames itself to the case's marker before it exits, so a zombie left anywhere on the host is
// recognisable (a zombie keeps nothing but its name).
const ORPHANS = `
import ctypes, os, time
name = os.environ["TBX_MARK"].encode()[:15]
libc = ctypes.CDLL(None)
for _ in range(2000):
    pid = os.fork()
    if pid == 0:
        if os.fork() == 0:
            libc.prctl(15, name, 0, 0, 0)
        os._exit(0)
    os.waitpid(pid, 0)
def zombies():
    n = 0
    for p in os.listdir("/proc"):
        try:
            stat = open("/proc/%s/stat" % p).read() if p.isdigit() else ""
        except OSError:
            continue
        if stat and stat[stat.rfind(")") + 2] == "Z" and name.decode() in stat:
            n += 1
    return n
left = zombies()
for _ in range(100):
    if left == 0:
        break
    time.sleep(0.05)
    left = zombies()
print("zombies left", left, flush=True)
`;

const WORKERS = `
const { Worker } = require("node:worker_threads");
let done = 0;
for (let i = 0; i < 4; i++) {
  const w = new Worker("let s = 0; for (let j = 0; j < 1e7; j++) s += j; require('node:worker_threads').parentPort.postMessage(s)", { eval: true });
  w.on("message", () => { if (++done === 4) console.log("workers done"); });
}
`;

export const PROCESS_CASES: HostileCase[] = [
  {
    id: "R9",
    title: "child does setsid() and sleeps; parent exits",
    route: "exec",
    body: () => pyExec(SETSID_CHILD, 30),
    check(out, { expect }) {
      expect(out.exec).toMatchObject({ exit_code: 0, timed_out: false, stdout: "parent exits; child up\n" });
    },
  },
  {
    id: "R10",
    title: "double-fork nohup daemon with closed fds",
    route: "exec",
    body: () => ({
      command:
        "( exec 0<&- 1>&- 2>&-; nohup setsid sh -c 'touch /daemon-up; exec sleep 1000000' & ); " +
        "for i in $(seq 100); do [ -e /daemon-up ] && break; sleep 0.05; done; exit 0",
      timeout: 30,
    }),
    check(out, { expect, dir }) {
      expect(out.exec).toMatchObject({ exit_code: 0, timed_out: false });
      expect(existsSync(path.join(dir, "daemon-up")), "the daemon never started").toBe(true);
    },
  },
  {
    id: "R11",
    title: "R9 after proot itself is SIGKILLed (bwrap: bwrap)",
    route: "exec",
    body: (ctx) => ({ ...pyExec(UNTRACED_CHILD, 30), env: { HOST_WS: ctx.dir, HOST_CANARY: canaryPath(ctx.target.rt.root, ctx.marker) } }),
    async prepare(ctx) {
      writeFileSync(canaryPath(ctx.target.rt.root, ctx.marker), `host-only-${ctx.marker}`, { mode: 0o644 });
    },
    async during(ctx, settled) {
      const up = await poll(async () => existsSync(path.join(ctx.dir, "r11-up")), (v) => v || settled(), 300);
      ctx.expect(up, "the setsid child never started").toBe(true);
      const run = { marker: ctx.marker, uid: null, runtimePid: ctx.target.pid };
      const sandboxes = (await processesOf(run)).filter((p) => p.name === ctx.target.backend);
      ctx.expect(sandboxes.length, `no ${ctx.target.backend} process of the run`).toBeGreaterThan(0);
      for (const p of sandboxes) process.kill(p.pid, "SIGKILL");
    },
    check(out, { expect, dir, marker }) {
      expect(out.status).toBe(200);
      expect(existsSync(path.join(dir, "leak")), "an untraced child read a host file").toBe(false);
      expect(out.text).not.toContain(`host-only-${marker}`);
    },
  },
  {
    id: "R12",
    title: "2,000 short-lived grandchildren",
    route: "exec",
    body: () => pyExec(ORPHANS, 100),
    check(out, { expect }) {
      expect(out.exec, out.exec.stderr).toMatchObject({ exit_code: 0, timed_out: false, stdout: "zombies left 0\n" });
    },
  },
  {
    id: "X18",
    title: "numpy with BLAS threads",
    route: "run_python",
    body: () => ({
      code: "import numpy as np, threading\na = np.random.default_rng(0).random((600, 600))\nb = a @ a\nprint('ok', b.shape)",
      environment: { OPENBLAS_NUM_THREADS: "4", OMP_NUM_THREADS: "4" },
      timeout: 120,
    }),
    check(out, { expect }) {
      expect(out.py.metadata, out.py.text).toMatchObject({ exit_code: 0, timed_out: false, stdout: "ok (600, 600)\n" });
    },
  },
  {
    id: "X18b",
    title: "npm install (offline, a local package) and node worker threads",
    route: "exec",
    body: () => ({
      command:
        "mkdir -p /x18pkg && printf '%s' '{\"name\":\"x18pkg\",\"version\":\"1.0.0\"}' > /x18pkg/package.json && cd / && " +
        "npm install --offline --no-audit --no-fund --loglevel=error ./x18pkg >/dev/null && node -e \"$WORKERS\"",
      env: { WORKERS },
      timeout: 120,
    }),
    check(out, { expect, dir }) {
      expect(out.exec, out.exec.stderr).toMatchObject({ exit_code: 0, timed_out: false, stdout: "workers done\n" });
      expect(existsSync(path.join(dir, "node_modules", "x18pkg"))).toBe(true);
    },
  },
];

const canaryPath = (root: string, marker: string) => path.join(root, `canary-${marker}`);
