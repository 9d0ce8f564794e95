import { accessSync, constants, existsSync, mkdirSync, rmdirSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { z } from "zod";

/** What the start-up self-test found on this host; logged at start and returned by `/health` as `layers`. */
export interface LayerReport {
  backend: "proot" | "bwrap" | "none";
  /** Each thread runs as its own uid (and its tenant's gid): needs root. */
  uid_switch: boolean;
  uid_range: { first: number; last: number } | null;
  /** The syscall filter is in force (io_uring EPERM, openat2 ENOSYS) with no_new_privs, checked in a real process. */
  seccomp: boolean;
  /** setrlimit per run (CPU, address space, processes, open files, file size, core 0). */
  rlimits: boolean;
  /** `unshare --pid --kill-child` around each proot run; bwrap makes its own. */
  pid_namespace: boolean;
  /** `unshare --net`, for threads created with `network: "none"`. */
  net_namespace: boolean;
  /** Unprivileged user namespaces (bwrap needs them when it runs as the thread's uid). */
  user_namespaces: boolean;
  /** Every process of a thread's uid is killed when its last run or context ends. */
  uid_sweep: boolean;
  /** Landlock ABI version of the kernel (0: none). Reported only: threadbox does not use Landlock yet. */
  landlock_abi: number | null;
  cgroup_v2: "unified" | "hybrid" | "none";
  /** A child cgroup can be created (reported only: runs are not put in cgroups yet). */
  cgroup_v2_writable: boolean;
  /** io_uring on the host, outside the filter: available, disabled by sysctl, or absent. */
  io_uring_host: "available" | "disabled" | "absent" | "unknown";
  degraded: boolean;
  missing: string[];
}

const ProbeSchema = z.object({
  landlock_abi: z.number(),
  io_uring_setup: z.string(),
  openat2: z.string(),
  seccomp_mode: z.number(),
  no_new_privs: z.number(),
});
type Probe = z.infer<typeof ProbeSchema>;

export async function works(file: string, args: string[]): Promise<boolean> {
  const r = await execa(file, args, { reject: false, timeout: 10_000, stdin: "ignore" });
  return r.exitCode === 0;
}

async function probe(file: string, args: string[]): Promise<Probe | null> {
  const r = await execa(file, args, { reject: false, timeout: 10_000, stdin: "ignore" });
  try {
    return r.exitCode === 0 ? ProbeSchema.parse(JSON.parse(r.stdout)) : null;
  } catch {
    return null;
  }
}

export interface HelperCheck {
  /** The helper runs, applies its options and installs a filter that does what it should. */
  ok: boolean;
  host: Probe | null;
  problem?: string;
}

/** Runs the helper in front of itself: the inner `--probe` sees the filter, the limits and no_new_privs it got. */
export async function checkHelper(helper: string): Promise<HelperCheck> {
  try {
    accessSync(helper, constants.X_OK);
  } catch {
    return { ok: false, host: null, problem: `seccomp helper ${helper} is missing; build it with scripts/setup.sh` };
  }
  const host = await probe(helper, ["--probe"]);
  const inner = await probe(helper, ["--rlimit=core:0:0", "--umask=002", "--", helper, "--probe"]);
  if (!host || !inner) return { ok: false, host, problem: `seccomp helper ${helper} is outdated or cannot run; rebuild it with scripts/setup.sh` };
  const filtered = inner.seccomp_mode === 2 && inner.no_new_privs === 1 && inner.io_uring_setup === "EPERM" && inner.openat2 === "ENOSYS";
  return filtered ? { ok: true, host } : { ok: false, host, problem: `seccomp helper ${helper} cannot install its filter on this host` };
}

export function ioUringState(host: Probe | null): LayerReport["io_uring_host"] {
  if (!host) return "unknown";
  return host.io_uring_setup === "ENOSYS" ? "absent" : host.io_uring_setup === "EPERM" ? "disabled" : "available";
}

/** cgroup v2: the whole tree (unified), beside v1 (hybrid, /sys/fs/cgroup/unified), or none; and whether we may create one. */
export function cgroupV2(isRoot: boolean): Pick<LayerReport, "cgroup_v2" | "cgroup_v2_writable"> {
  const root = existsSync("/sys/fs/cgroup/cgroup.controllers")
    ? { kind: "unified" as const, dir: "/sys/fs/cgroup" }
    : existsSync("/sys/fs/cgroup/unified/cgroup.controllers")
      ? { kind: "hybrid" as const, dir: "/sys/fs/cgroup/unified" }
      : null;
  if (!root) return { cgroup_v2: "none", cgroup_v2_writable: false };
  let writable = false;
  if (isRoot) {
    const probeDir = path.join(root.dir, `threadbox-probe-${process.pid}`);
    try {
      mkdirSync(probeDir);
      rmdirSync(probeDir);
      writable = true;
    } catch {
      writable = false;
    }
  }
  return { cgroup_v2: root.kind, cgroup_v2_writable: writable };
}

/** Namespaces this host lets the runtime make; `asUid` checks user namespaces the way bwrap will use them. */
export async function namespaces(isRoot: boolean, asUid: number | null): Promise<Pick<LayerReport, "pid_namespace" | "net_namespace" | "user_namespaces">> {
  const drop = asUid === null ? [] : [`--reuid=${asUid}`, `--regid=${asUid}`, "--clear-groups", "--"];
  const [pid, net, user] = await Promise.all([
    isRoot ? works("unshare", ["--pid", "--fork", "--kill-child", "--mount-proc", "true"]) : false,
    isRoot ? works("unshare", ["--net", "true"]) : false,
    asUid === null ? works("unshare", ["--user", "true"]) : works("setpriv", [...drop, "unshare", "--user", "true"]),
  ]);
  return { pid_namespace: pid, net_namespace: net, user_namespaces: user };
}
