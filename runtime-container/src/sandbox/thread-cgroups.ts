import type { Cgroup, CgroupEvents, CgroupLimits, CgroupTree } from "./cgroups.ts";

/** A run's (or a context's) group: the dirs the launcher enters, and its end. */
export interface RunCgroup {
  /** One per hierarchy: the launcher's `--cgroup=DIR` options. */
  dirs: string[];
  group: Cgroup;
  /** Kills what is left in the group, removes it (and the thread's group with its last member); says what the kernel refused. */
  leave(): Promise<CgroupEvents>;
  /** What the kernel refused so far: read from the group while it lives, the final count once it is left. */
  events(): Promise<CgroupEvents>;
}

/**
 * Two levels under the runtime's root: `<tenant>.<thread>` with the thread-wide ceilings (all its runs and contexts
 * together, and one thread's share of the CPU against the others'), and in it one group per run or context with that
 * run's own limits (`limits.memory_mb` and `limits.processes` for the whole run). A thread's group lives while it
 * has members. Changes to one thread's groups are serialized, so a group is never removed while one is made in it.
 */
export class ThreadCgroups {
  private readonly threads = new Map<string, { members: number; chain: Promise<unknown> }>();
  private seq = 0;

  constructor(
    private readonly tree: CgroupTree,
    private readonly ceiling: CgroupLimits,
  ) {}

  /** null when this host has no usable cgroups (the rlimits alone then apply). */
  async enter(tenant: string, thread: string, limits: CgroupLimits): Promise<RunCgroup | null> {
    if (!this.tree.enabled) return null;
    const key = `${tenant}.${thread}`;
    const name = `run-${++this.seq}`;
    const group = await this.serial(key, async (t) => {
      if (t.members === 0) await this.tree.create([key], this.ceiling);
      t.members++;
      try {
        return await this.tree.create([key, name], limits);
      } catch (err) {
        await this.leaveThread(key, t);
        throw err;
      }
    });
    let left: Promise<CgroupEvents> | null = null;
    const leave = () =>
      (left ??= this.serial(key, async (t) => {
        const events = await group.events();
        await group.removeIfEmpty();
        await this.leaveThread(key, t);
        return events;
      }));
    return { dirs: group.dirs, group, leave, events: () => left ?? group.events() };
  }

  private async leaveThread(key: string, t: { members: number }): Promise<void> {
    t.members--;
    if (t.members === 0) await this.tree.at([key]).removeIfEmpty();
  }

  private serial<T>(key: string, fn: (t: { members: number }) => Promise<T>): Promise<T> {
    const state = this.threads.get(key) ?? { members: 0, chain: Promise.resolve() };
    this.threads.set(key, state);
    const result = state.chain.then(() => fn(state));
    const done = result.then(
      () => undefined,
      () => undefined,
    );
    state.chain = done;
    void done.then(() => {
      if (state.chain === done && state.members === 0) this.threads.delete(key);
    });
    return result;
  }
}
