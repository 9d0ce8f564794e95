import { descendantsOf } from "./proc-tree.ts";

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
  for (const target of descendantsOf(pid)) sendSignal(target, signal);
}

function sendSignal(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // ESRCH: already gone.
  }
}
