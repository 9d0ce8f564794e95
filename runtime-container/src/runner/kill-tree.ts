/**
 * Signals a run's whole process group (the child is spawned detached, so its pid is the group id) and the child
 * itself. What leaves the group (setsid) is caught by the pid namespace around the sandbox: killing the namespace's
 * first process makes the kernel kill everything in it.
 */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // ESRCH: already gone.
    }
  }
}
