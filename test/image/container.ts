import { randomInt, randomUUID } from "node:crypto";
import { execa } from "execa";
import { freePort } from "../e2e/wrangler-dev.ts";

// The production image under podman, started as the README starts it for a URL fleet. `npm run image` builds it.

export const IMAGE = process.env.THREADBOX_IMAGE ?? "localhost/threadbox-runtime:ci";

/** The README's flags for a URL-fleet runtime: FUSE for the bucket, CAP_SYS_ADMIN for pid and net namespaces. */
export const README_FLAGS = ["--device", "/dev/fuse", "--cap-add", "SYS_ADMIN"];

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

/** A user namespace of 65,536 ids at a random host offset: the container's root is no root on the host (rootless). */
export function userNamespace(size = 65_536): string[] {
  const host = 400_000_000 + randomInt(0, 10_000) * 65_536;
  return ["--uidmap", `0:${host}:${size}`, "--gidmap", `0:${host}:${size}`];
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
