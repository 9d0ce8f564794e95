import path from "node:path";

/**
 * A host command line the runtime spawned (captured by spawn-capture.mjs), and the pure operations on it: another
 * guest command in the same sandbox, and the command built up layer by layer. The runtime's command line is, outermost
 * first, wrappers (a program, its options, and the `--` that ends them), the backend (proot or bwrap) with its
 * options, and inside it the launcher (`/bin/sh -c SCRIPT threadbox-launcher`) followed by the guest argv.
 */
export interface HostCommand {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Runs before each spawn: what the runtime sets up in the workspace before it spawns (bwrap's usr-merge links). */
  prepare?: () => Promise<void>;
  /** Runs after each spawn: removes the mount-point stubs a run leaves (bwrap refuses to run again over them). */
  cleanup?: () => Promise<void>;
}

const LAUNCHER = "threadbox-launcher";
const BACKENDS = new Set(["proot", "bwrap"]);
/** bwrap's `--seccomp FD` names a filter only the native launcher (`--filter=bwrap`) provides, at this placeholder. */
const SECCOMP = ["--seccomp", "@SECCOMP_FD@"];
/** The launcher's option for the run's cgroup: the group lives as long as its run, so a replay cannot join it. */
const CGROUP_OPTION = "--cgroup=";

/**
 * The captured command, replayable: without the run's cgroups (removed when the run ended; a replay runs outside any,
 * with its rlimits only).
 */
export function replayable(cmd: HostCommand): HostCommand {
  return { ...cmd, args: cmd.args.filter((a) => !a.startsWith(CGROUP_OPTION)) };
}

/** The backend's argv without the filter's placeholder, and whether it had one. */
function withoutSeccomp(argv: string[]): { argv: string[]; had: boolean } {
  const at = argv.findIndex((a, i) => a === SECCOMP[0] && argv[i + 1] === SECCOMP[1]);
  return at < 0 ? { argv, had: false } : { argv: [...argv.slice(0, at), ...argv.slice(at + 2)], had: true };
}

/** The launcher's index in argv: the guest command follows it. */
function launcherAt(argv: string[]): number {
  const i = argv.indexOf(LAUNCHER);
  if (i < 3) throw new Error(`no launcher in ${argv.join(" ")}`);
  return i;
}

/** The captured command with another guest argv (the launcher and every layer kept). */
export function withGuest(cmd: HostCommand, guest: string[]): HostCommand {
  return { ...cmd, args: [...cmd.args.slice(0, launcherAt(cmd.args) + 1), ...guest] };
}

/**
 * The command built up layer by layer, innermost first: the backend alone, then each wrapper around it, then the
 * launcher inside (the last entry is the exact command). Labels name each layer by its program.
 */
export function layersOf(cmd: HostCommand): { label: string; cmd: HostCommand }[] {
  const wrappers: string[][] = [];
  let argv = [cmd.file, ...cmd.args];
  while (argv.length > 1 && !BACKENDS.has(path.basename(argv[0] ?? ""))) {
    // A wrapper is its program, its options (`--name=value` or flags), and the `--` that ends them if it has one.
    let end = 1;
    while (end < argv.length && (argv[end] as string).startsWith("-") && argv[end] !== "--") end++;
    if (argv[end] === "--") end++;
    wrappers.unshift(argv.slice(0, end));
    argv = argv.slice(end);
  }
  const backend = path.basename(argv[0] ?? "");
  if (!BACKENDS.has(backend)) throw new Error(`no sandbox backend in ${cmd.file} ${cmd.args.join(" ")}`);
  const at = launcherAt(argv);
  // bwrap alone has no filter to read; it gets `--seccomp FD` back with the wrapper that provides the filter.
  const { argv: core, had: seccomp } = withoutSeccomp([...argv.slice(0, at - 3), ...argv.slice(at + 1)]);
  const withFilter = (backendArgv: string[]) => [backendArgv[0] as string, ...SECCOMP, ...backendArgv.slice(1)];
  const out: { label: string; cmd: HostCommand }[] = [];
  let current = core;
  const add = (label: string, next: string[]) => {
    current = next;
    const [file, ...args] = next as [string, ...string[]];
    out.push({ label, cmd: { ...cmd, file, args } });
  };
  add(`${backend} alone`, core);
  let backendArgv = core;
  for (const w of wrappers) {
    if (seccomp && w.includes("--filter=bwrap")) {
      // The launcher execs the rest of its argv: the backend is what follows the wrappers already added.
      const inner = current.slice(current.length - backendArgv.length);
      const outer = current.slice(0, current.length - backendArgv.length);
      backendArgv = withFilter(inner);
      current = [...outer, ...backendArgv];
    }
    add(`+ ${path.basename(w[0] ?? "?")}`, [...w, ...current]);
  }
  add("+ launcher (= exact command)", [cmd.file, ...cmd.args]);
  return out;
}

/**
 * The command with another build of its backend (`/opt/proot-5.4/proot` for `proot`): the first argv element (the
 * file included) whose base name is the backend's is replaced; every layer, option and the guest stay.
 */
export function withBackendBinary(cmd: HostCommand, backend: string, binary: string): HostCommand {
  const argv = [cmd.file, ...cmd.args];
  const at = argv.findIndex((a) => path.basename(a) === backend);
  if (at < 0) throw new Error(`no ${backend} in ${argv.join(" ")}`);
  const [file, ...args] = argv.map((a, i) => (i === at ? binary : a)) as [string, ...string[]];
  return { ...cmd, file, args };
}
