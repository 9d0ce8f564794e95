import { readdirSync, readFileSync } from "node:fs";

/**
 * Signals a run's whole process group (the child is spawned detached, so its pid is the group id) and the child
 * itself. What leaves the group (setsid) is caught by the pid namespace around the sandbox: killing the namespace's
 * first process makes the kernel kill everything in it.
 */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) sendSignal(target, signal);
}

/**
 * Signals every descendant of `pid`, not `pid` itself. For a wrapper that must outlive the signal: bwrap dies on
 * SIGTERM and its death tears the pid namespace down with SIGKILL, so a TERM sent to it would never give the user's
 * processes their grace. The descendants are found from /proc (their host pids; they left the group with setsid).
 * A process forked during the scan may miss the signal: the SIGKILL after the grace goes through the namespace.
 */
export function signalDescendants(pid: number, signal: NodeJS.Signals): void {
  const children = childMap();
  const queue = [...(children.get(pid) ?? [])];
  const seen = new Set<number>([pid]);
  while (queue.length > 0) {
    const next = queue.shift() as number;
    if (seen.has(next)) continue;
    seen.add(next);
    sendSignal(next, signal);
    queue.push(...(children.get(next) ?? []));
  }
}

/** Parent pid → child pids, from /proc/<pid>/stat of every process visible now. */
function childMap(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentOf(name);
    if (ppid === null) continue;
    const list = map.get(ppid) ?? [];
    list.push(Number(name));
    map.set(ppid, list);
  }
  return map;
}

function parentOf(pid: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // The command name (field 2) may hold spaces and parentheses: the fields after the last ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[1]);
  } catch {
    return null; // exited during the scan
  }
}

function sendSignal(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // ESRCH: already gone.
  }
}
