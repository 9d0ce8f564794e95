/**
 * Inside the sandbox, the user's command runs under a tiny launcher that reports its exit status on fd 3 the moment
 * it exits. Why: proot waits for every traced descendant, so a daemon left behind would otherwise hold the run open;
 * the status tells the runner the command is done and the rest of the tree can be killed. The user's command runs
 * with fd 3 closed, so nothing it starts can write to the status pipe.
 */
export const STATUS_FD = 3;

// The launcher is in the run's process group, so a timeout's SIGTERM reaches it too: a (non-ignoring) trap keeps
// it alive to report the command's 143. Handled traps reset to default in children: the command sees the signal.
const SCRIPT = `trap : TERM INT HUP; "$@" ${STATUS_FD}>&-; printf '%s' "$?" >&${STATUS_FD}`;

export function launcherArgv(argv: string[]): string[] {
  return ["/bin/sh", "-c", SCRIPT, "threadbox-launcher", ...argv];
}

/** Parses what the launcher wrote: the shell status (128 + N for signal N), or null when nothing valid arrived. */
export function parseLauncherStatus(text: string): number | null {
  return /^\d{1,3}$/.test(text) ? Number(text) : null;
}
