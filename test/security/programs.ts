import path from "node:path";
import type { RunLimitsRequest } from "../../shared/src/index.ts";
import type { CaseContext } from "./hostile.ts";

/**
 * Building blocks of the hostile programs. Python runs as `python3 -` with the source on stdin, so no quoting
 * stands between SECURITY.md's program and what runs.
 */
export function pyExec(code: string, timeout: number, limits?: RunLimitsRequest): Record<string, unknown> {
  return { command: "python3 -", stdin: code, timeout, ...(limits ? { limits } : {}) };
}

/**
 * A guard the exhausting programs (fork, thread and memory bombs) run first: when the sandbox shows no cap of
 * this kind (no rlimit or cgroup limit at or below `most`), the program says so and exits 3 instead of exhausting
 * a shared machine. The case then fails on its expected outcome, which is the truth: the limit is missing.
 */
export const GUARD = `
import os, resource

def _cgroup_caps(names):
    caps = []
    try:
        lines = open("/proc/self/cgroup").read().splitlines()
    except OSError:
        return caps
    for line in lines[:32]:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        ctrls, rel = parts[1], parts[2]
        dirs = ["/sys/fs/cgroup" + rel, "/sys/fs/cgroup/unified" + rel]
        dirs += ["/sys/fs/cgroup/" + c + rel for c in ctrls.split(",") if c]
        for d in dirs:
            for n in names:
                try:
                    v = open(os.path.join(d, n)).read().strip()
                except OSError:
                    continue
                if v.isdigit():
                    caps.append(int(v))
    return caps

def require_cap(kind, most):
    rlimits = {"memory": [resource.RLIMIT_AS, resource.RLIMIT_DATA], "processes": [resource.RLIMIT_NPROC]}[kind]
    files = {"memory": ["memory.max", "memory.limit_in_bytes"], "processes": ["pids.max"]}[kind]
    caps = [resource.getrlimit(r)[0] for r in rlimits] + _cgroup_caps(files)
    caps = [c for c in caps if c != resource.RLIM_INFINITY and c >= 0]
    if not caps or min(caps) > most:
        print("NO %s LIMIT VISIBLE: refusing to exhaust the host" % kind.upper(), flush=True)
        raise SystemExit(3)
`;

/** The guard, then the check for one kind of cap. */
export const guarded = (kind: "memory" | "processes", most: number, code: string) =>
  `${GUARD}\nrequire_cap(${JSON.stringify(kind)}, ${most})\n${code}`;

/** Python printing one JSON line, for programs whose findings the check reads. */
export const REPORT = `
import json, sys
def report(**kw):
    print(json.dumps(kw), flush=True)
`;

/** Parses the last JSON line a REPORT program printed. */
export function reported<T = Record<string, unknown>>(stdout: string): T {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`the program reported no JSON line; stdout:\n${stdout.slice(-2000)}`);
  }
}

/** Python: ctypes `syscall` returning (result, errno name). */
export const SYSCALL = `
import ctypes, errno
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
def sys_call(*args):
    r = _libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return r, (errno.errorcode.get(ctypes.get_errno(), "OK") if r < 0 else "OK")
`;

/** Errnos that mean "blocked or confined" for a path the sandbox must not reach. */
export const DENIED = ["ENOENT", "EACCES", "EPERM", "ENOSYS", "EXDEV", "ESRCH"];

/** A program's findings: label → errno name (or what it managed to do). */
export type Report = Record<string, string>;

/** Every finding is one of the `allowed` refusals. */
export function expectAllDenied(ctx: CaseContext, found: Report, allowed = DENIED): void {
  for (const [label, result] of Object.entries(found)) ctx.expect(allowed, `${label}: ${result}`).toContain(result);
}

/** A host-only file for a case, outside every workspace (the runtime's data root is 0711: reachable by path). */
export const hostFile = (ctx: CaseContext, name: string) => path.join(ctx.target.rt.root, `${name}-${ctx.marker}`);
