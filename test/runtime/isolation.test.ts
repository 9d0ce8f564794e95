import { randomInt, randomUUID } from "node:crypto";
import { chmod, chown, copyFile, lstat, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecRequestInput, ExecResult, RunPythonResponse } from "../../shared/src/index.ts";
import { type RuntimeProcess, processesMatching, startRuntime } from "./harness.ts";
import { EVERY_LAYER } from "../layers-held.ts";

// The layers of SECURITY.md around the sandbox: a uid per thread (files owned by it, unreadable by other threads'
// uids), per-run rlimits with per-call overrides capped by the runtime's maxima, the uid sweep, network "none",
// and the start-up self-test (refusing to start degraded unless allowed). This machine runs the tests as root.

interface Layers {
  uid_switch: boolean;
  uid_range: { first: number; last: number };
  seccomp: boolean;
  rlimits: boolean;
  pid_namespace: boolean;
  net_namespace: boolean;
  uid_sweep: boolean;
  degraded: boolean;
  missing: string[];
}
interface Health {
  ok: boolean;
  degraded: boolean;
  missing_layers: string[];
  layers: Layers;
}

const LAUNCHER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../.build/seccomp-exec");

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

const newThread = () => `iso-${randomUUID()}`;
const exec = (r: RuntimeProcess, tenant: string, thread: string, req: ExecRequestInput) =>
  r.json<ExecResult>("POST", `/threads/${tenant}/${thread}/exec`, req);

/** The thread's uid and gid, as its own programs see them. */
async function idsOf(r: RuntimeProcess, tenant: string, thread: string): Promise<{ uid: number; gid: number }> {
  const out = await exec(r, tenant, thread, { command: "id -u; id -g" });
  const [uid, gid] = out.stdout.trim().split("\n").map(Number) as [number, number];
  return { uid, gid };
}

/** A host program run as another uid/gid: what a process of that thread could do outside its view. */
const asIds = (ids: { uid: number; gid: number }, argv: string[]) =>
  execa("setpriv", [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, "--clear-groups", "--", ...argv], { reject: false });

describe("a uid per thread", () => {
  it("runs each thread as its own unprivileged uid, and a tenant's threads share its gid", async () => {
    const { layers } = await rt.json<Health>("GET", "/health");
    const serverUid = (await lstat(`/proc/${rt.child.pid}`)).uid;
    const [a, b, other] = await Promise.all([idsOf(rt, "acme", newThread()), idsOf(rt, "acme", newThread()), idsOf(rt, "globex", newThread())]);
    for (const ids of [a, b, other]) {
      expect(ids.uid).toBeGreaterThanOrEqual(layers.uid_range.first);
      expect(ids.uid).toBeLessThanOrEqual(layers.uid_range.last);
      expect([0, serverUid]).not.toContain(ids.uid);
    }
    expect(new Set([a.uid, b.uid, other.uid]).size).toBe(3);
    expect(a.gid).toBe(b.gid);
    expect(other.gid).not.toBe(a.gid);
  });

  it("keeps a thread's number in the runtime's id range across restarts", async () => {
    const before = await startRuntime();
    const threads = [newThread(), newThread()];
    try {
      const first = (await before.json<Health>("GET", "/health")).layers.uid_range.first;
      const offsets = [];
      for (const t of threads) offsets.push((await idsOf(before, "acme", t)).uid - first);
      expect(offsets[0]).not.toBe(offsets[1]);
      const exited = new Promise((r) => before.child.once("exit", r));
      before.child.kill("SIGTERM");
      await exited;
      const after = await startRuntime({}, { root: before.root });
      try {
        // The range may differ (another runtime may hold the old one meanwhile): the number within it does not.
        const range = (await after.json<Health>("GET", "/health")).layers.uid_range.first;
        for (const [i, t] of threads.entries()) {
          const ids = await idsOf(after, "acme", t);
          expect(ids.uid - range).toBe(offsets[i]);
          expect((await lstat(path.join(before.workspaces, "acme", t))).uid).toBe(ids.uid);
        }
      } finally {
        await after.stop();
      }
    } finally {
      await before.stop();
    }
  });

  it("owns the thread's files, including what the runtime writes, and other threads' uids cannot read them", async () => {
    const thread = newThread();
    const mine = await idsOf(rt, "acme", thread);
    await rt.call("PUT", `/threads/acme/${thread}/files/deep/new/upload.txt`, { raw: "secret" });
    await exec(rt, "acme", thread, { command: "echo tmp > /tmp/t.txt; echo data > /workspace/made.txt" });
    const ws = path.join(rt.workspaces, "acme", thread);
    const tmp = path.join(rt.root, "state", "tmp", "acme", thread, "tmp");
    for (const p of [ws, path.join(ws, "deep"), path.join(ws, "deep/new/upload.txt"), path.join(ws, "made.txt"), path.join(ws, ".bashrc"), path.join(tmp, "t.txt")]) {
      const st = await lstat(p);
      expect({ p, uid: st.uid, gid: st.gid }).toEqual({ p, uid: mine.uid, gid: mine.gid });
    }
    expect((await lstat(ws)).mode & 0o777).toBe(0o700);
    // Another thread of the same tenant (same gid) and one of another tenant: neither reads a byte.
    const sibling = await idsOf(rt, "acme", newThread());
    const stranger = await idsOf(rt, "globex", newThread());
    for (const ids of [sibling, stranger]) {
      for (const file of [path.join(ws, "deep/new/upload.txt"), path.join(tmp, "t.txt")]) {
        const r = await asIds(ids, ["cat", file]);
        expect(r.exitCode).not.toBe(0);
        expect(r.stderr).toMatch(/Permission denied/);
      }
      expect((await asIds(ids, ["ls", path.join(rt.root, "state", "venvs", "acme", thread)])).exitCode).not.toBe(0);
    }
    // The tenant's package cache: its threads share it (its gid), another tenant's cannot enter it.
    const cache = path.join(rt.root, "state", "pip-cache", "acme");
    expect((await asIds(sibling, ["ls", cache])).exitCode).toBe(0);
    expect((await asIds(stranger, ["ls", cache])).stderr).toMatch(/Permission denied/);
    // The owner itself can (the same check, so the refusals above are about the uid, not the path).
    expect((await asIds(mine, ["cat", path.join(ws, "deep/new/upload.txt")])).stdout).toBe("secret");
  });

  it("gives a workspace made by another uid to the thread before running in it", async () => {
    const thread = newThread();
    const mine = await idsOf(rt, "acme", thread);
    const ws = path.join(rt.workspaces, "acme", thread);
    await exec(rt, "acme", thread, { command: "mkdir -p sub && echo x > sub/f" });
    for (const p of [ws, path.join(ws, "sub"), path.join(ws, "sub/f")]) await chown(p, 4242, 4242);
    const r = await exec(rt, "acme", thread, { command: "echo y >> sub/f && cat sub/f" });
    expect(r).toMatchObject({ exit_code: 0, stdout: "x\ny\n" });
    expect((await lstat(path.join(ws, "sub/f"))).uid).toBe(mine.uid);
  });
});

describe("resource limits", () => {
  it("applies the runtime's defaults to every run", async () => {
    const r = await exec(rt, "acme", newThread(), { command: "ulimit -c; ulimit -v; ulimit -u; ulimit -n; ulimit -f; ulimit -t", timeout: 10 });
    // core 0; 4 GiB address space (KiB); 256 processes; 1024 fds; 1 GiB files (bash counts KiB); CPU = 10 + 0.5 + 1 s.
    expect(r.stdout).toBe(`0\n${4 * 1024 * 1024}\n256\n1024\n${1024 * 1024}\n12\n`);
  });

  it("takes per-call overrides and refuses one above the runtime's maximum", async () => {
    const thread = newThread();
    const code = "import resource as r\nprint([r.getrlimit(x)[0] for x in (r.RLIMIT_AS, r.RLIMIT_NPROC, r.RLIMIT_NOFILE, r.RLIMIT_FSIZE, r.RLIMIT_CPU)])";
    const limits = { memory_mb: 512, processes: 64, open_files: 100, file_size_mb: 5, cpu_s: 7 };
    const ok = await rt.json<RunPythonResponse>("POST", `/threads/acme/${thread}/run_python`, { code, limits });
    // RLIMIT_NPROC (per uid) is the thread's bound, the default 256: the run's own 64 are counted by its cgroup
    // (pids.max, see run-cgroups.test.ts), apart from the thread's other runs and contexts.
    expect(ok.metadata.stdout).toBe(`[${512 * 2 ** 20}, 256, 100, ${5 * 2 ** 20}, 7]\n`);
    const res = await rt.call("POST", `/threads/acme/${thread}/exec`, { body: { command: "true", limits: { memory_mb: 1_000_000 } } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.message).toMatch(/memory_mb 1000000 is above this runtime's maximum 16384 \(MAX_MEMORY_MB\)/);
  });

  it("turns an allocation beyond the address-space limit into MEMORY_ERROR", async () => {
    const r = await rt.json<RunPythonResponse>("POST", `/threads/acme/${newThread()}/run_python`, {
      code: "x = bytearray(600 * 2**20)",
      limits: { memory_mb: 256 },
    });
    expect(r.metadata).toMatchObject({ error_type: "MemoryError", error_code: "MEMORY_ERROR" });
  });

  it("stops a fork bomb at the process limit while another thread forks freely", async () => {
    const bomb = exec(rt, "acme", newThread(), { command: "b(){ b|b& }; b; sleep 2", timeout: 4, limits: { processes: 64 } });
    const other = await exec(rt, "acme", newThread(), { command: "for i in $(seq 40); do sleep 0.2 & done; wait; echo forked", timeout: 20 });
    expect(other).toMatchObject({ exit_code: 0, stdout: "forked\n" });
    const r = await bomb;
    expect(r.stderr).toMatch(/fork: (retry: )?Resource temporarily unavailable/);
  });
});

describe("no survivor", () => {
  let nons: RuntimeProcess;
  beforeAll(async () => {
    // Without the pid namespace, what proot kills when it exits and the uid sweep are all that stop a daemon
    // (R11's daemon, untraced once proot is dead, survives without the sweep).
    nons = await startRuntime({ PID_NAMESPACE: "off" });
  });
  afterAll(async () => {
    await nons?.stop();
  });
  const marker = () => String(1_000_000 + randomInt(1_000_000_000));

  it("R9/R10: sweeps setsid and double-forked daemons by uid", async () => {
    const a = marker();
    const b = marker();
    const command = `setsid sleep ${a} & ( exec 0<&- 1>&- 2>&-; nohup setsid sh -c 'exec sleep ${b}' & ); sleep 0.3; exit 0`;
    const r = await exec(nons, "acme", newThread(), { command, timeout: 20 });
    expect(r).toMatchObject({ exit_code: 0, timed_out: false });
    expect(await processesMatching(`sleep ${a}`)).toEqual([]);
    expect(await processesMatching(`sleep ${b}`)).toEqual([]);
  });

  it("R11: sweeps a daemon left untraced after proot itself is SIGKILLed", async () => {
    const a = marker();
    const command = `setsid sh -c 'sleep ${a}' >/dev/null 2>&1 & sleep 0.3; pkill -9 -u $(id -u) -x proot; sleep 5`;
    const r = await exec(nons, "acme", newThread(), { command, timeout: 20 });
    expect(r.timed_out).toBe(false);
    expect(await processesMatching(`sleep ${a}`)).toEqual([]);
  });
});

describe("network", () => {
  it('gives a "none" thread only lo and a default thread a way out, neither reaching the runtime\'s port', async () => {
    // The interfaces the thread sees, then a connection to the runtime's own port on 127.0.0.1.
    const port = new URL(rt.url).port;
    const probe = `tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '; python3 -c "import socket; socket.create_connection(('127.0.0.1', ${port}), timeout=3)"`;
    const offline = newThread();
    const created = await rt.json<{ network: string }>("POST", `/threads/acme/${offline}`, { network: "none" });
    expect(created.network).toBe("none");
    const cut = await exec(rt, "acme", offline, { command: probe });
    expect(cut).toMatchObject({ stdout: "lo " });
    expect(cut.exit_code).not.toBe(0);
    expect(cut.stderr).toMatch(/Connection refused/);
    // A default thread's 127.0.0.1 is its own: the runtime's port is not there.
    const online = await exec(rt, "acme", newThread(), { command: probe });
    expect(online).toMatchObject({ stdout: "lo tap0 " });
    expect(online.exit_code).not.toBe(0);
    expect(online.stderr).toMatch(/Connection refused/);
  });
});

describe("start-up self-test", () => {
  it("reports the layers active on this host", async () => {
    const health = await rt.json<Health>("GET", "/health");
    expect(health).toMatchObject({ ok: true, degraded: false, missing_layers: [] });
    expect(health.layers).toMatchObject(EVERY_LAYER);
    expect(health.layers).toHaveProperty("landlock_abi");
    expect(health.layers).toHaveProperty("cgroup_v2");
    expect(health.layers).toHaveProperty("io_uring_host");
  });

  it("refuses to start without a required layer, and starts degraded (and says so) when allowed", async () => {
    const missing = { SECCOMP_HELPER: "/nonexistent/seccomp-exec" };
    await expect(startRuntime(missing)).rejects.toThrow(/seccomp helper \/nonexistent\/seccomp-exec is missing[\s\S]*ALLOW_DEGRADED_ISOLATION/);
    const degraded = await startRuntime({ ...missing, ALLOW_DEGRADED_ISOLATION: "1" });
    try {
      const health = await degraded.json<Health>("GET", "/health");
      expect(health.degraded).toBe(true);
      expect(health.missing_layers.join("\n")).toMatch(/^seccomp: /);
      expect(health.layers).toMatchObject({ seccomp: false, rlimits: false, uid_switch: true });
      // Still the thread's uid and still swept: only the filter and the limits are gone.
      expect(await exec(degraded, "acme", newThread(), { command: "echo still-runs" })).toMatchObject({ stdout: "still-runs\n" });
    } finally {
      await degraded.stop();
    }
  });

  it("refuses to start when proot's tracer cannot be protected (nondumpable.so missing beside the launcher)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "threadbox-launcher-"));
    try {
      await chmod(dir, 0o755);
      await copyFile(LAUNCHER, path.join(dir, "seccomp-exec"));
      await chmod(path.join(dir, "seccomp-exec"), 0o755);
      const alone = { SECCOMP_HELPER: path.join(dir, "seccomp-exec") };
      await expect(startRuntime(alone)).rejects.toThrow(/tracer protection: nondumpable\.so is missing/);
      const degraded = await startRuntime({ ...alone, ALLOW_DEGRADED_ISOLATION: "1" });
      try {
        const health = await degraded.json<Health>("GET", "/health");
        expect(health.degraded).toBe(true);
        expect(health.layers).toMatchObject({ seccomp: true, tracer_protected: false, net_namespace: true });
      } finally {
        await degraded.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start when the egress rules cannot be installed; degraded, default threads share the host's network", async () => {
    // An nft that fails, first on the runtime's PATH.
    const dir = await mkdtemp(path.join(os.tmpdir(), "threadbox-nft-"));
    try {
      await writeFile(path.join(dir, "nft"), "#!/bin/sh\necho 'nft: not here' >&2\nexit 1\n", { mode: 0o755 });
      const broken = { PATH: `${dir}:${process.env.PATH}` };
      await expect(startRuntime(broken)).rejects.toThrow(/egress filter: installing the egress rules failed/);
      const degraded = await startRuntime({ ...broken, ALLOW_DEGRADED_ISOLATION: "1" });
      try {
        const health = await degraded.json<Health>("GET", "/health");
        expect(health).toMatchObject({ degraded: true, layers: { net_namespace: true, egress_filter: false, user_mode_stack: null } });
        const interfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '";
        const open = await exec(degraded, "acme", newThread(), { command: interfaces });
        expect(open.stdout).not.toMatch(/^lo $|tap0/);
        const offline = newThread();
        await degraded.json("POST", `/threads/acme/${offline}`, { network: "none" });
        expect((await exec(degraded, "acme", offline, { command: interfaces })).stdout).toBe("lo ");
      } finally {
        await degraded.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
