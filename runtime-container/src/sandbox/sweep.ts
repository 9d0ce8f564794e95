import { readFileSync, readdirSync, statSync } from "node:fs";
import { execa } from "execa";
import type { Logger } from "../logger.ts";

/**
 * Host processes whose real uid is in [first, last], zombies excepted (they are dead; their parent reaps them).
 * `quick` looks only at the owner of /proc/<pid> (its effective uid; ~1 ms for the whole table, synchronous),
 * which a process that made itself non-dumpable hides from: the check after a kill(-1) uses it, the start-up
 * sweep reads every status.
 */
export function processesOfUids(first: number, last: number, quick = false): number[] {
  const found: number[] = [];
  const inRange = (uid: number) => uid >= first && uid <= last;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (quick && !inRange(statSync(`/proc/${entry}`).uid)) continue;
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      if (inRange(Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1)) && !/^State:\s+Z/m.test(status)) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/**
 * No survivor after a run: when the last sandboxed process tree of a uid (a run, or a context's interpreter) ends,
 * every process still running as that uid is killed — what a `setsid` or a double fork left behind, whether or not
 * a pid namespace already took it down. While any tree of the uid is live, nothing is swept (a thread's context is
 * a persistent process of the same uid); the pid namespace around each run covers that case.
 * A start waits for a sweep of its uid in progress, so a sweep never kills a run that is starting.
 */
export class UidSweeper {
  private readonly live = new Map<number, number>();
  private readonly sweeping = new Map<number, Promise<void>>();

  constructor(
    /** The seccomp helper, for its `--kill-uid`; without it (degraded) the sweep scans /proc only. */
    private readonly helper: string | null,
    private readonly range: { first: number; last: number },
    private readonly logger: Logger,
  ) {}

  /**
   * Marks a tree of `uid` as starting; the returned function marks it ended. It is idempotent and resolves when the
   * sweep it triggered (if any) is done, so a run can return only once nothing of it is left.
   */
  async acquire(uid: number): Promise<() => Promise<void>> {
    if (uid < this.range.first || uid > this.range.last) throw new Error(`uid ${uid} is outside this runtime's sandbox ids`);
    await this.sweeping.get(uid);
    this.live.set(uid, (this.live.get(uid) ?? 0) + 1);
    let released: Promise<void> | null = null;
    return () => (released ??= this.end(uid));
  }

  private end(uid: number): Promise<void> {
    const left = (this.live.get(uid) ?? 1) - 1;
    if (left > 0) {
      this.live.set(uid, left);
      return Promise.resolve();
    }
    this.live.delete(uid);
    const done = this.sweep(uid).finally(() => {
      if (this.sweeping.get(uid) === done) this.sweeping.delete(uid);
    });
    this.sweeping.set(uid, done);
    return done;
  }

  /** Waits for sweeps in progress (tests and shutdown). */
  async settle(): Promise<void> {
    await Promise.all(this.sweeping.values());
  }

  /** Start-up: whatever a previous run of this runtime left in its id range. */
  sweepAll(): number {
    const pids = processesOfUids(this.range.first, this.range.last);
    for (const pid of pids) kill(pid);
    if (pids.length > 0) this.logger.warn("killed processes left in the sandbox id range", { count: pids.length });
    return pids.length;
  }

  private async sweep(uid: number): Promise<void> {
    // Nothing left (the usual case: the pid namespace took the run down): no helper to spawn. A scan finding none
    // is final, since only a process of the uid could start another one, and starts wait for this sweep.
    // The full scan: a process that made itself non-dumpable hides from the quick one.
    if (processesOfUids(uid, uid).length === 0) return;
    // kill(-1) as the uid: the kernel signals every process of it in one pass, faster than any fork loop.
    if (this.helper) await execa(this.helper, [`--kill-uid=${uid}`], { reject: false, timeout: 10_000, stdin: "ignore" });
    // Processes already killed can take a moment to exit (a fork bomb's, or tracees of a dead proot).
    for (let round = 0; round < 40; round++) {
      const left = processesOfUids(uid, uid, true);
      if (left.length === 0) return;
      if (round === 10) this.logger.warn("processes of a sandbox uid are slow to die", { uid, count: left.length });
      for (const pid of left) kill(pid);
      await new Promise((r) => setTimeout(r, 25));
    }
    this.logger.error("processes of a sandbox uid survive the sweep", { uid });
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // ESRCH: it died meanwhile.
  }
}
