import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { Owner } from "../files/safe-open.ts";
import type { HostCommand } from "./backend.ts";
import type { EgressSource } from "./network/egress-proxy.ts";
import type { NamespaceMode } from "./network/namespace.ts";
import { type RunLimits, rlimitArgs } from "./limits.ts";

/** The layers applied around a backend, as the start-up self-test found them on this host. */
export interface Layers {
  /** The native launcher (native/): limits, namespaces, uid drop, filter. null: missing (degraded, see below). */
  helper: string | null;
  /** nondumpable.so, preloaded into proot (and the display server): out of reach of same-uid programs. */
  nondumpable: string | null;
  /** New pid, mount and ipc namespaces around each proot run (bwrap makes its own). */
  pidNamespace: boolean;
  /** Without them (PID_NAMESPACE=off), still an ipc namespace of its own. */
  ipcNamespace: boolean;
  /** `unshare --net` works here: the fallback for a "none" thread that got no namespace of its own. */
  netNamespace: boolean;
}

/** Who one run is and what it may use. */
export interface RunIdentity {
  /** The thread's uid and its tenant's gid; null when the runtime cannot switch uid (not root). */
  owner: Owner;
  limits: RunLimits;
  network: NamespaceMode;
  /** The thread's policy and secrets, for its egress proxy (network "proxy"). */
  egress?: EgressSource;
  /** The thread, whose cgroup the run's own group goes in (absent: no group, the rlimits alone). */
  thread?: { tenant: string; thread: string };
}

/** Where the run goes: the thread's network namespace (null: none of its own), and cgroups to join. */
export interface Placement {
  netns: string | null;
  /** The run's group, one directory per hierarchy (the launcher's `--cgroup=DIR`). */
  cgroups: string[];
  /** RLIMIT_NPROC when the run's group counts its processes: a bound for the whole thread (absent: the run's `processes`). */
  nproc?: number;
}

export interface SpawnSpec {
  file: string;
  args: string[];
  cwd: string;
  /**
   * Where a timeout's or cancel's SIGTERM goes. `group`: the run's process group (proot's chain survives it).
   * `descendants`: everything below the spawned process but not it: bwrap dies on SIGTERM and takes its pid namespace
   * down with SIGKILL, so the user's processes would never get their grace.
   */
  termTarget?: "group" | "descendants";
}

/**
 * Files the sandbox creates are group-writable: the tenant's shared package cache needs it (its gid is the
 * tenant's); everything else of a thread lives in directories only its uid can enter.
 */
const SANDBOX_UMASK = "002";

/** bwrap reads its filter from this fd; the launcher writes the filter to a memfd and puts its number here. */
const SECCOMP_FD = "@SECCOMP_FD@";

/**
 * The command line: the launcher (run by the server's uid, root, so the sandbox uid never needs to reach it), which
 * sets the run's limits, joins its cgroups and the thread's network namespace, makes proot's pid, mount and ipc
 * namespaces, drops to the thread's uid and installs the filter (or hands it to bwrap), then the backend.
 * Without the launcher (degraded: no filter, no limits), the former chain: unshare, then setpriv.
 */
export function wrapCommand(cmd: HostCommand, layers: Layers, backend: string, run: RunIdentity, place: Placement): SpawnSpec {
  const proot = backend === "proot";
  const bwrap = backend === "bwrap";
  let argv = bwrap && layers.helper ? [cmd.file, "--seccomp", SECCOMP_FD, ...cmd.args] : [cmd.file, ...cmd.args];
  // A "none" thread without a namespace of its own: an empty one (bwrap makes it itself, see bwrap.ts).
  const unshareNet = run.network === "none" && place.netns === null && !bwrap;
  if (unshareNet && !layers.netNamespace) {
    throw new AppError(ErrorCode.NOT_IMPLEMENTED, 'this thread has network "none", but this runtime cannot make network namespaces (it needs root)');
  }
  if (layers.helper) {
    const ids = run.owner ? [`--uid=${run.owner.uid}`, `--gid=${run.owner.gid}`] : [];
    const namespaces = !proot ? [] : layers.pidNamespace ? ["--pidns"] : layers.ipcNamespace ? ["--ipcns"] : [];
    argv = [
      layers.helper,
      ...rlimitArgs(run.limits, run.owner ? (place.nproc ?? run.limits.processes) : null),
      `--umask=${SANDBOX_UMASK}`,
      ...place.cgroups.map((dir) => `--cgroup=${dir}`),
      ...(place.netns ? [`--netns=${place.netns}`] : []),
      ...namespaces,
      ...ids,
      `--filter=${bwrap ? "bwrap" : "proot"}`,
      ...(proot && layers.nondumpable ? [`--preload=${layers.nondumpable}`] : []),
      "--",
      ...argv,
    ];
    if (unshareNet) argv = ["unshare", "--net", "--", ...argv];
  } else {
    if (run.owner) argv = ["setpriv", `--reuid=${run.owner.uid}`, `--regid=${run.owner.gid}`, "--clear-groups", "--pdeathsig=KILL", "--", ...argv];
    const unshare = [...(layers.pidNamespace && proot ? ["--pid", "--fork", "--kill-child", "--mount-proc", "--ipc"] : []), ...(unshareNet ? ["--net"] : [])];
    if (unshare.length > 0) argv = ["unshare", ...unshare, "--", ...argv];
    if (place.netns) argv = ["nsenter", `--net=${place.netns}`, "--", ...argv];
  }
  const [file, ...args] = argv as [string, ...string[]];
  // The launcher (and setpriv) exec, so under bwrap the spawned process is bwrap itself.
  return { file, args, cwd: cmd.cwd, termTarget: bwrap ? "descendants" : "group" };
}

/**
 * The command prefix of a long-lived host process of a thread outside any sandbox (its display server): the
 * thread's uid, its network namespace (where its sandboxes reach the display's abstract socket), no_new_privs, the
 * parent-death signal, and non-dumpable (it parses what the sandbox sends it).
 */
export function hostProcessPrefix(layers: Layers, owner: Owner, netns: string | null): string[] {
  if (layers.helper) {
    const ids = owner ? [`--uid=${owner.uid}`, `--gid=${owner.gid}`] : [];
    const preload = layers.nondumpable ? [`--preload=${layers.nondumpable}`] : [];
    return [layers.helper, ...(netns ? [`--netns=${netns}`] : []), ...ids, ...preload, "--"];
  }
  const drop = owner ? [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, "--clear-groups"] : [];
  const setpriv = ["setpriv", ...drop, "--no-new-privs", "--pdeathsig=KILL", "--"];
  return netns ? ["nsenter", `--net=${netns}`, "--", ...setpriv] : setpriv;
}
