import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { z } from "zod";

/** What the start-up self-test found on this host; logged at start and returned by `/health` as `layers`. */
export interface LayerReport {
  backend: "proot" | "bwrap" | "none";
  /** Each thread runs as its own uid (and its tenant's gid): needs root. */
  uid_switch: boolean;
  uid_range: { first: number; last: number } | null;
  /** The syscall filter is in force (io_uring EPERM, openat2 ENOSYS, setns EPERM) with no_new_privs, checked in a real process. */
  seccomp: boolean;
  /** setrlimit per run (CPU, address space, processes, open files, file size, core 0). */
  rlimits: boolean;
  /** A pid namespace per run: the launcher's `--pidns` around proot (checked), bwrap's own. */
  pid_namespace: boolean;
  /** An ipc namespace per run (SysV shm, semaphores, queues die with it): the launcher's, bwrap's own. */
  ipc_namespace: boolean;
  /** A network namespace per thread, for both network modes ("none": lo only). */
  net_namespace: boolean;
  /** nftables rules inside each "default" namespace: no host, loopback, link-local or private address. */
  egress_filter: boolean;
  /** What gives a "default" namespace its way out; null when none could be started. */
  user_mode_stack: "slirp4netns" | null;
  /** proot, the tracer, is non-dumpable: no traced program can read or write its memory (null: not proot). */
  tracer_protected: boolean | null;
  /** fs.protected_hardlinks = 1: a sandbox cannot hard-link a file it does not own (a root-only host file). */
  protected_hardlinks: boolean;
  /** Unprivileged user namespaces (bwrap needs them when it runs as the thread's uid). */
  user_namespaces: boolean;
  /** Every process of a thread's uid is killed when its last run or context ends. */
  uid_sweep: boolean;
  /** Landlock ABI version of the kernel (0: none). Reported only: threadbox does not use Landlock yet. */
  landlock_abi: number | null;
  /** The host's cgroup v2 tree: the whole tree (unified), beside v1 (hybrid), or none (what `cgroups` chose from). */
  cgroup_v2: "unified" | "hybrid" | "none";
  /** A child cgroup can be created in the v2 tree. */
  cgroup_v2_writable: boolean;
  /**
   * Whole-run limits in control groups (each run and context in a group of its own inside its thread's): the
   * version in use, or none (CGROUPS=off, not root, no usable hierarchy: the rlimits alone apply).
   */
  cgroups: "v2" | "v1" | "none";
  /** Which limits hold there for a whole run (memory, processes) and a whole thread (those and CPU). */
  cgroup_limits: { memory: boolean; pids: boolean; cpu: boolean };
  /** Why cgroups are not used, or which controller is missing. */
  cgroup_problem: string | null;
  /** io_uring on the host, outside the filter: available, disabled by sysctl, or absent. */
  io_uring_host: "available" | "disabled" | "absent" | "unknown";
  degraded: boolean;
  missing: string[];
}

const ProbeSchema = z.object({
  landlock_abi: z.number(),
  io_uring_setup: z.string(),
  openat2: z.string(),
  setns: z.string(),
  process_vm_readv: z.string(),
  seccomp_mode: z.number(),
  no_new_privs: z.number(),
  uid: z.number(),
  gid: z.number(),
  ns: z.object({ pid: z.number(), net: z.number(), ipc: z.number(), mnt: z.number() }),
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
  /** The launcher runs, applies its options and installs a filter that does what it should. */
  ok: boolean;
  host: Probe | null;
  problem?: string;
  /** `--pidns` gives a run new pid and ipc namespaces (root only). */
  pidNamespace: boolean;
  /** `--ipcns` alone gives one an ipc namespace (PID_NAMESPACE=off). */
  ipcNamespace: boolean;
}

/** Runs the launcher in front of itself: the inner `--probe` sees the filter, the limits and the namespaces it got. */
export async function checkHelper(helper: string, isRoot: boolean): Promise<HelperCheck> {
  const none = { pidNamespace: false, ipcNamespace: false };
  try {
    accessSync(helper, constants.X_OK);
  } catch {
    return { ok: false, host: null, ...none, problem: `seccomp helper ${helper} is missing; build it with scripts/setup.sh` };
  }
  const inner = (opts: string[]) => probe(helper, ["--rlimit=core:0:0", "--umask=002", ...opts, "--filter=proot", "--", helper, "--probe"]);
  const [host, filtered, pidns, ipcns] = await Promise.all([
    probe(helper, ["--probe"]),
    inner([]),
    isRoot ? inner(["--pidns"]) : null,
    isRoot ? inner(["--ipcns"]) : null,
  ]);
  if (!host || !filtered) {
    return { ok: false, host, ...none, problem: `seccomp helper ${helper} is outdated or cannot run; rebuild it with scripts/setup.sh` };
  }
  const inForce =
    filtered.seccomp_mode === 2 &&
    filtered.no_new_privs === 1 &&
    filtered.io_uring_setup === "EPERM" &&
    filtered.openat2 === "ENOSYS" &&
    filtered.setns === "EPERM";
  const pidNamespace = !!pidns && pidns.ns.pid !== host.ns.pid && pidns.ns.ipc !== host.ns.ipc && pidns.ns.mnt !== host.ns.mnt;
  const ipcNamespace = !!ipcns && ipcns.ns.ipc !== host.ns.ipc;
  if (!inForce) return { ok: false, host, ...none, problem: `seccomp helper ${helper} cannot install its filter on this host` };
  return { ok: true, host, pidNamespace, ipcNamespace };
}

/** The launcher (or, without it, setpriv) can become a sandbox uid here. */
export async function uidSwitchWorks(helper: string | null, uid: number): Promise<boolean> {
  return helper
    ? works(helper, [`--uid=${uid}`, `--gid=${uid}`, "--", "true"])
    : works("setpriv", [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--", "true"]);
}

/** fs.protected_hardlinks: without it a sandbox could hard-link a root-only host file into its workspace (X12). */
export function protectedHardlinks(): boolean {
  try {
    return readFileSync("/proc/sys/fs/protected_hardlinks", "utf8").trim() === "1";
  } catch {
    return false;
  }
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

/**
 * What the former chain can still make when the launcher is missing (degraded): `unshare` as root; and unprivileged
 * user namespaces, checked the way bwrap will use them (`asUid`).
 */
export async function namespaces(isRoot: boolean, asUid: number | null): Promise<{ pid: boolean; net: boolean; user: boolean }> {
  const drop = asUid === null ? [] : [`--reuid=${asUid}`, `--regid=${asUid}`, "--clear-groups", "--"];
  const [pid, net, user] = await Promise.all([
    isRoot ? works("unshare", ["--pid", "--fork", "--kill-child", "--mount-proc", "--ipc", "true"]) : false,
    isRoot ? works("unshare", ["--net", "true"]) : false,
    asUid === null ? works("unshare", ["--user", "true"]) : works("setpriv", [...drop, "unshare", "--user", "true"]),
  ]);
  return { pid, net, user };
}
