import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rmdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

// The native launcher on its own (runtime-container/native/), run as root the way the runtime runs it. The tests
// of the runtime and the hostile suite cover it inside whole runs; these pin each option's contract.

const BUILD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../.build");
const LAUNCHER = path.join(BUILD, "seccomp-exec");
const NONDUMPABLE = path.join(BUILD, "nondumpable.so");
const root = process.getuid?.() === 0;
const run = (args: string[], opts: { input?: string } = {}) => execa(LAUNCHER, args, { reject: false, timeout: 30_000, ...opts });

async function pollUntil(check: () => Promise<boolean>, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

/** Resolves with the first line the child prints on stdout. */
const firstLine = (child: ChildProcess) =>
  new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0] as string);
    });
    child.once("exit", () => reject(new Error(`exited before printing a line: ${out}`)));
  });

describe.skipIf(!root)("the native launcher", () => {
  it("--cgroup joins every cgroup given, and a missing one stops the launch", async () => {
    const name = `threadbox-launcher-${randomBytes(4).toString("hex")}`;
    const dirs = ["pids", "memory"].map((c) => path.join("/sys/fs/cgroup", c, name)).filter((d) => existsSync(path.dirname(d)));
    expect(dirs.length, "cgroup v1 pids and memory controllers").toBe(2);
    for (const d of dirs) await mkdir(d);
    try {
      const r = await run([...dirs.map((d) => `--cgroup=${d}`), "--", "cat", "/proc/self/cgroup"]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^\\d+:pids:/${name}$`, "m"));
      expect(r.stdout).toMatch(new RegExp(`^\\d+:memory:/${name}$`, "m"));
      const bad = await run([`--cgroup=/sys/fs/cgroup/pids/${name}-missing`, "--", "true"]);
      expect(bad.exitCode).toBe(126);
      expect(bad.stderr).toMatch(/cannot join cgroup/);
    } finally {
      for (const d of dirs) await rmdir(d);
    }
  });

  it("--pidns: pid 1 of a new pid namespace with a fresh /proc, and the program's status as its own", async () => {
    const r = await run(["--pidns", "--", "sh", "-c", 'echo $$; ls /proc | grep -c "^[0-9]"; exit 7']);
    const [pid, count] = r.stdout.split("\n").map(Number);
    expect(pid).toBe(1);
    expect(count).toBeLessThanOrEqual(4);
    expect(r.exitCode).toBe(7);
  });

  it("--pidns: a TERM to the process group reaches the program (its grace), not the namespace", async () => {
    const child = spawn(LAUNCHER, ["--pidns", "--", "sh", "-c", 'trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done'], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    expect(await firstLine(child)).toBe("ready");
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    process.kill(-(child.pid as number), "SIGTERM");
    expect(await exited).toBe(42);
  });

  it("--pidns: SIGKILL of the launcher takes the whole namespace down", async () => {
    const marker = `${Date.now()}${randomBytes(2).readUInt16BE()}`;
    const child = spawn(LAUNCHER, ["--pidns", "--", "sh", "-c", `sleep ${marker} & echo ready; wait`], { stdio: ["ignore", "pipe", "ignore"] });
    expect(await firstLine(child)).toBe("ready");
    const sleepers = async () => {
      const found: number[] = [];
      for (const p of await readdir("/proc")) {
        if (/^\d+$/.test(p) && (await readFile(`/proc/${p}/cmdline`, "utf8").catch(() => "")) === `sleep\0${marker}\0`) found.push(Number(p));
      }
      return found;
    };
    expect(await sleepers()).toHaveLength(1);
    child.kill("SIGKILL");
    expect(await pollUntil(async () => (await sleepers()).length === 0)).toBe(true);
  });

  it("--uid/--gid: that uid and gid, no other group; never uid 0", async () => {
    const r = await run(["--uid=4242", "--gid=4343", "--", "sh", "-c", "id -u; id -g; id -G"]);
    expect(r.stdout).toBe("4242\n4343\n4343");
    const zero = await run(["--uid=0", "--gid=0", "--", "true"]);
    expect(zero.exitCode).toBe(126);
  });

  it("--filter=bwrap hands bwrap its filter through @SECCOMP_FD@, and refuses a command line without it", async () => {
    const bwrap = ["bwrap", "--seccomp", "@SECCOMP_FD@", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-pid"];
    const r = await run(["--uid=4242", "--gid=4242", "--filter=bwrap", "--", ...bwrap, "--", LAUNCHER, "--probe"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const inner = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(inner).toMatchObject({ seccomp_mode: 2, no_new_privs: 1, io_uring_setup: "EPERM", setns: "EPERM", process_vm_readv: "EPERM", uid: 4242 });
    // No ENOSYS list under bwrap (nothing translates paths there): openat2 answers as the kernel does.
    expect(inner.openat2).not.toBe("ENOSYS");
    const missing = await run(["--filter=bwrap", "--", "bwrap", "--ro-bind", "/", "/", "true"]);
    expect(missing.exitCode).toBe(126);
    expect(missing.stderr).toMatch(/@SECCOMP_FD@/);
  });

  it("--hold-netns holds a network namespace (lo up) that --netns joins, until its stdin closes", async () => {
    const holder = spawn(LAUNCHER, ["--hold-netns"], { stdio: ["pipe", "pipe", "ignore"] });
    expect(await firstLine(holder)).toMatch(/^ready \d+ \d+$/);
    const r = await run([`--netns=/proc/${holder.pid}/ns/net`, "--uid=4242", "--gid=4242", "--", "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; cat /sys/class/net/lo/operstate"]);
    expect(r.stdout.split("\n")[0]).toBe("lo");
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    holder.stdin?.end();
    expect(await exited).toBe(0);
  });

  it("--connect relays stdio to 127.0.0.1:PORT inside the namespace it joined (\"+\" first), 111 when nothing listens", async () => {
    const holder = spawn(LAUNCHER, ["--hold-netns"], { stdio: ["pipe", "pipe", "ignore"] });
    expect(await firstLine(holder)).toMatch(/^ready \d+ \d+$/);
    const netns = `--netns=/proc/${holder.pid}/ns/net`;
    // A one-shot server inside the namespace, as an unprivileged uid (it prints its line once listening).
    const server = spawn(LAUNCHER, [netns, "--uid=4242", "--gid=4242", "--", "python3", "-c",
      "import socket\ns = socket.socket(); s.bind(('127.0.0.1', 8123)); s.listen(1); print('up', flush=True)\nc, _ = s.accept(); c.sendall(b'got ' + c.recv(100)); c.close()"], { stdio: ["ignore", "pipe", "ignore"] });
    expect(await firstLine(server)).toBe("up");
    const relayed = await run([netns, "--uid=4242", "--gid=4242", "--connect=8123"], { input: "hello" });
    expect(relayed.exitCode).toBe(0);
    expect(relayed.stdout).toBe("+got hello");
    // The same port on the host's loopback is another socket: nothing listens there for the relay.
    const refused = await run([netns, "--uid=4242", "--gid=4242", "--connect=8123"]);
    expect(refused.exitCode).toBe(111);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(/Connection refused/);
    for (const bad of [["--connect=0"], ["--connect=65536"], ["--connect=80", "--", "sh"], ["--connect=80", "--filter=proot"], ["--connect=80", "--pidns"]]) {
      const r = await run(bad);
      expect(r.exitCode, bad.join(" ")).toBe(126);
    }
    server.kill("SIGKILL");
    holder.stdin?.end();
  });

  it("--preload: nondumpable.so makes the program non-dumpable, its children dumpable again, and unsets LD_PRELOAD", async () => {
    // A non-dumpable process's /proc files belong to root; a dumpable one's to its uid.
    const script = 'echo "${LD_PRELOAD-unset}"; stat -c %u /proc/$$/environ; sh -c "stat -c %u /proc/\\$\\$/environ"';
    const r = await run(["--uid=4242", "--gid=4242", `--preload=${NONDUMPABLE}`, "--", "sh", "-c", script]);
    expect(r.stdout).toBe("unset\n0\n4242");
  });
});
