import { randomInt, randomUUID } from "node:crypto";
import { chown, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { freePort } from "../e2e/wrangler-dev.ts";

// The production image under podman, started as the README starts it for a URL fleet. `npm run image` builds it.

export const IMAGE = process.env.THREADBOX_IMAGE ?? "localhost/threadbox-runtime:ci";

/**
 * The fewest privileges with which every required layer holds (README, "What each flag buys"): CAP_SYS_ADMIN for the
 * launcher's pid and ipc namespaces (and so the tracer's protection) and slirp4netns's own sandbox, /dev/net/tun for
 * slirp4netns's tap device.
 */
export const MINIMAL_FLAGS = ["--cap-add", "SYS_ADMIN", "--device", "/dev/net/tun"];

/** The README's flags for a URL-fleet runtime: the minimal ones, and FUSE for the bucket. */
export const README_FLAGS = [...MINIMAL_FLAGS, "--device", "/dev/fuse"];

// Docker's default capabilities are podman's plus these three: with them a container here gets what `docker run`
// would give it (users run Docker). Then what this machine needs of podman, not what the image needs: runc (crun
// refuses hybrid cgroups) and explicit ulimits (without CAP_SYS_RESOURCE podman cannot raise its defaults). The host's
// network: the worker, the package index and the bucket all listen on the host's loopback, the only addresses tests
// may use here.
const MACHINE = ["--cap-add", "AUDIT_WRITE,MKNOD,NET_RAW", "--ulimit", "nofile=16384:16384", "--ulimit", "nproc=8192:8192", "--network", "host"];

export function podman(args: string[], timeout = 120_000) {
  return execa("podman", ["--runtime", "runc", ...args], { reject: false, timeout, stdin: "ignore" });
}

/** The last line of `podman run IMAGE --check`-style output that is the self-test's JSON report. */
export function selfTestReport(stdout: string): { ok: boolean; isolation: string; layers: Record<string, unknown>; storage: Record<string, unknown> } {
  const line = stdout.split("\n").filter((l) => l.startsWith('{"ok":')).at(-1);
  if (!line) throw new Error(`no self-test report in:\n${stdout}`);
  return JSON.parse(line);
}

/**
 * Sandbox ids of their own for every container: runtimes on one kernel must not share uids (a uid sweep reaches every
 * process of its uid that it can see), and a container's own id-slot directory cannot see the host's runtimes.
 */
export const isolatedIds = () => ({ SANDBOX_UID_BASE: String(1_000_000_000 + randomInt(0, 10_000) * 100_000), SANDBOX_ID_RANGE: "100000" });

export interface UserNamespace {
  /** --uidmap/--gidmap, and the device when asked for. */
  flags: string[];
  remove(): Promise<void>;
}

/**
 * A user namespace of `size` ids at a random host offset: the container's root is no root on the host (rootless).
 * `tun`: /dev/net/tun for it. Where the host's node is 0666 (udev's rule on Debian and Ubuntu) `--device
 * /dev/net/tun` is enough; this machine has no udev and its node is root's, 0600, which the namespace's root cannot
 * open. So the namespace gets a node of its own for the same device (10:200), owned by its root, and the device
 * cgroup rule that lets it be opened: the same access a usual host gives.
 */
export async function userNamespace(opts: { size?: number; tun?: boolean } = {}): Promise<UserNamespace> {
  const size = opts.size ?? 65_536;
  const host = 400_000_000 + randomInt(0, 10_000) * 65_536;
  const flags = ["--uidmap", `0:${host}:${size}`, "--gidmap", `0:${host}:${size}`];
  if (!opts.tun) return { flags, remove: async () => {} };
  const dir = await mkdtemp("/var/tmp/threadbox-userns-dev.");
  const node = path.join(dir, "tun");
  await execa("mknod", ["-m", "600", node, "c", "10", "200"]);
  await chown(node, host, host);
  return {
    flags: [...flags, "--volume", `${node}:/dev/net/tun`, "--device-cgroup-rule", "c 10:200 rwm"],
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * podman's default seccomp profile less `syscalls`, in a temp file: Docker's default profile has no pivot_root
 * (podman's has), which slirp4netns's own sandbox needs.
 */
export async function seccompProfileWithout(syscalls: string[]): Promise<{ file: string; remove(): Promise<void> }> {
  const profile = JSON.parse(await readFile("/usr/share/containers/seccomp.json", "utf8")) as { syscalls: { names: string[] }[] };
  for (const rule of profile.syscalls) rule.names = rule.names.filter((n) => !syscalls.includes(n));
  const dir = await mkdtemp("/var/tmp/threadbox-seccomp.");
  const file = path.join(dir, "profile.json");
  await writeFile(file, JSON.stringify(profile));
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** `entrypoint.sh --check` in a throwaway container: the self-test under these flags, nothing served. */
export async function checkImage(flags: string[], env: Record<string, string> = {}) {
  const envFlags = Object.entries({ HMAC_SECRET: "check-secret-0123456789", ...env }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  return podman(["run", "--rm", ...MACHINE, ...flags, ...envFlags, IMAGE, "--check"]);
}

export interface Container {
  name: string;
  /** The runtime's URL on the host's loopback. */
  url: string;
  port: number;
  logs(): Promise<string>;
  /** podman stop with this grace (SIGTERM, then SIGKILL); the container's exit code and whether it was killed. */
  stop(graceSeconds?: number): Promise<{ exitCode: number; oomOrKilled: boolean }>;
  remove(): Promise<void>;
}

async function state(name: string): Promise<{ running: boolean; exitCode: number }> {
  const r = await podman(["inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", name]);
  const [running, code] = r.stdout.trim().split(" ");
  return { running: running === "true", exitCode: Number(code) };
}

/**
 * Starts the image detached and waits until its runtime answers (a 401 to an unsigned call: it is listening). `env`
 * goes in as `-e` (secrets by environment, as the README's docker run); `flags` are the privilege flags under test.
 */
export async function runContainer(opts: { env: Record<string, string>; flags?: string[]; port?: number; args?: string[] }): Promise<Container> {
  const name = `threadbox-test-${randomUUID().slice(0, 8)}`;
  const port = opts.port ?? (await freePort());
  const env = { HOST: "127.0.0.1", PORT: String(port), ...opts.env };
  const envFlags = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const run = await podman(["run", "-d", "--name", name, ...MACHINE, ...(opts.flags ?? README_FLAGS), ...envFlags, IMAGE, ...(opts.args ?? [])]);
  if (run.exitCode !== 0) throw new Error(`podman run failed: ${run.stderr}`);
  const container: Container = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    logs: async () => {
      const r = await podman(["logs", name]);
      return `${r.stdout}\n${r.stderr}`;
    },
    async stop(graceSeconds = 30) {
      await podman(["stop", "--time", String(graceSeconds), name], (graceSeconds + 60) * 1000);
      const r = await podman(["inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", name]);
      const [code, oom] = r.stdout.trim().split(" ");
      return { exitCode: Number(code), oomOrKilled: oom === "true" || Number(code) === 137 };
    },
    async remove() {
      await podman(["rm", "--force", "--time", "5", name]);
    },
  };
  // Bounded: 120 s (a cold container mounts the bucket and runs the self-test first), polled every 250 ms.
  const deadline = Date.now() + 120_000;
  for (let i = 0; Date.now() < deadline; i++) {
    const answered = await fetch(`${container.url}/health`).then((r) => r.status === 401, () => false);
    if (answered) return container;
    if (i % 8 === 7 && !(await state(name)).running) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const logs = await container.logs();
  await container.remove();
  throw new Error(`the container did not start serving:\n${logs}`);
}
