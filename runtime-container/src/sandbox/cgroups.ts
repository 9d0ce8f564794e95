import { access, mkdir, readFile, readdir, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/*
 * Control groups for whole-run limits: RLIMIT_AS and RLIMIT_NPROC are per process (or per uid), so four children of
 * 120 MiB each fit under `memory_mb: 256`; a cgroup's memory, pids and CPU limits hold for everything in it. Works on
 * cgroup v2 (one tree, with the memory/pids/cpu controllers delegated to the runtime's group) and on v1 (a hierarchy
 * per controller, as on hybrid hosts), with the runtime's root group inside its own cgroup so whatever bounds the
 * runtime bounds its sandboxes too. Processes enter a group before they exec (the launcher's --cgroup=DIR writes its
 * own pid into DIR/cgroup.procs), so nothing of a run ever runs outside it.
 */

export type CgroupMode = "v2" | "v1" | "none";
export type Controller = "memory" | "pids" | "cpu";
export const CONTROLLERS: readonly Controller[] = ["memory", "pids", "cpu"];

/** What the self-test shows: the cgroup version in use and which limits hold (the rlimits stay the fallback). */
export interface CgroupReport {
  mode: CgroupMode;
  limits: Record<Controller, boolean>;
  /** v2's cgroup.kill, or SIGKILL to every pid in cgroup.procs until none is left (v1). */
  kill: "cgroup.kill" | "signal" | null;
  /** The runtime's root group: one directory per hierarchy. */
  roots: string[];
  /** Why cgroups are not used, or why a controller is missing. */
  problem: string | null;
}

export interface CgroupLimits {
  memoryMb?: number;
  processes?: number;
  /** CPU bandwidth in cores (1.5: one and a half cores' worth of time per period). */
  cpus?: number;
}

export interface CgroupEvents {
  /** Processes the kernel's OOM killer killed in the group (memory limit reached). */
  oomKills: number;
  /** Forks refused at pids.max. */
  pidsMax: number;
}

/** One hierarchy: v2's single tree, or the v1 hierarchy of one or more controllers. */
export interface Hierarchy {
  root: string;
  controllers: Controller[];
}

const MIB = 2 ** 20;
const CPU_PERIOD_US = 100_000;
/** `<tenant>.<thread>` is up to 129 characters; a cgroup directory's name may have 255. */
const NAME = /^[A-Za-z0-9_.-]{1,200}$/;
const KILL_ROUNDS = 200;

export function fsCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

export const exists = (file: string) => access(file).then(() => true, () => false);
export const readText = (file: string) => readFile(file, "utf8").catch(() => "");

/** `key value` lines (memory.events, pids.events, memory.oom_control). */
async function counter(file: string, key: string): Promise<number> {
  const line = (await readText(file)).split("\n").find((l) => l.startsWith(`${key} `));
  return Number(line?.split(" ")[1] ?? 0) || 0;
}

/**
 * A group of processes: its directory in each hierarchy (what the launcher's --cgroup=DIR options name). Every
 * operation works on the hierarchies at once: it is on the path of every run, at its start and its end.
 */
export class Cgroup {
  constructor(
    readonly dirs: string[],
    private readonly v2: boolean,
    private readonly killFile: boolean,
    /** The controllers of each dir's hierarchy (which event files it has); all of them when not given. */
    private readonly controllers: readonly (readonly Controller[])[] = dirs.map(() => CONTROLLERS),
  ) {}

  /** Pids in the group and every group below it. */
  async pids(): Promise<number[]> {
    const found = new Set<number>();
    const visit = async (dir: string, depth: number): Promise<void> => {
      const [procs, entries] = await Promise.all([
        readText(path.join(dir, "cgroup.procs")),
        depth < 8 ? readdir(dir, { withFileTypes: true }).catch(() => []) : [],
      ]);
      for (const line of procs.split("\n")) if (line) found.add(Number(line));
      await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => visit(path.join(dir, e.name), depth + 1)));
    };
    await Promise.all(this.dirs.map((dir) => visit(dir, 0)));
    return [...found];
  }

  /** Kills every process in the group and below, and waits (bounded) until none is left; returns whether none is. */
  async killAll(): Promise<boolean> {
    const dir = this.dirs[0];
    if (this.killFile && dir) await writeFile(path.join(dir, "cgroup.kill"), "1").catch(() => undefined);
    // Also the fallback after cgroup.kill: a process forked while the kill ran is caught by the next round.
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const pids = await this.pids();
      if (pids.length === 0) return true;
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // ESRCH: gone since the read.
        }
      }
      await sleep(round < 10 ? 2 : 10);
    }
    return false;
  }

  /** Kills what is left, then removes the group and every group below it. */
  async remove(): Promise<void> {
    await this.killAll();
    await Promise.all(this.dirs.map((dir) => removeDir(dir, 0)));
  }

  /**
   * Removes the group when nothing is in it (a thread's group after its last run): one rmdir per hierarchy, the
   * whole removal (kill included) only when one is still busy.
   */
  async removeIfEmpty(): Promise<void> {
    const tried = await Promise.all(this.dirs.map((dir) => rmdir(dir).then(() => true, (err: unknown) => fsCode(err) === "ENOENT")));
    if (tried.some((done) => !done)) await this.remove();
  }

  async events(): Promise<CgroupEvents> {
    const read = (i: number, controller: Controller, file: string, key: string) =>
      this.controllers[i]?.includes(controller) ? counter(path.join(this.dirs[i] as string, file), key) : Promise.resolve(0);
    const counts = await Promise.all(
      this.dirs.map(async (_, i) => {
        const [oom, pids] = await Promise.all([
          read(i, "memory", this.v2 ? "memory.events" : "memory.oom_control", "oom_kill"),
          read(i, "pids", "pids.events", "max"),
        ]);
        return { oom, pids };
      }),
    );
    return { oomKills: counts.reduce((n, c) => n + c.oom, 0), pidsMax: counts.reduce((n, c) => n + c.pids, 0) };
  }
}

/** rmdir children first; an exiting process can keep a group busy for a moment. */
async function removeDir(dir: string, depth: number): Promise<void> {
  const entries = depth < 8 ? await readdir(dir, { withFileTypes: true }).catch(() => []) : [];
  await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => removeDir(path.join(dir, e.name), depth + 1)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await rmdir(dir);
    } catch (err) {
      if (fsCode(err) === "ENOENT") return;
      if (fsCode(err) !== "EBUSY" || attempt >= 50) throw err;
      await sleep(20);
    }
  }
}

/** The runtime's tree of groups under its root group (named with its id slot: runtimes share the host). */
export class CgroupTree {
  constructor(
    readonly report: CgroupReport,
    private readonly hierarchies: Hierarchy[],
  ) {}

  get enabled(): boolean {
    return this.report.mode !== "none";
  }

  /** The group at `segments` below the root (not created). */
  at(segments: readonly string[]): Cgroup {
    for (const s of segments) if (!NAME.test(s)) throw new Error(`bad cgroup name ${JSON.stringify(s)}`);
    const dirs = this.hierarchies.map((h) => path.join(h.root, ...segments));
    const controllers = this.hierarchies.map((h) => h.controllers);
    return new Cgroup(dirs, this.report.mode === "v2", this.report.kill === "cgroup.kill", controllers);
  }

  /** Creates the group at `segments` below the root (its parent must exist) with its limits. */
  async create(segments: readonly string[], limits: CgroupLimits): Promise<Cgroup> {
    const group = this.at(segments);
    await Promise.all(
      this.hierarchies.map(async (h, i) => {
        const dir = group.dirs[i] as string;
        if (this.report.mode === "v2") await enableControllers(path.dirname(dir), h.controllers);
        await mkdir(dir).catch((err: unknown) => {
          if (fsCode(err) !== "EEXIST") throw err;
        });
        await writeLimits(dir, h.controllers, this.report.mode === "v2", limits);
      }),
    );
    return group;
  }

  /** The whole tree: kill everything in it and remove it (shutdown, and stale trees at start-up). */
  async destroy(): Promise<void> {
    await this.at([]).remove();
  }
}

async function writeLimits(dir: string, controllers: Controller[], v2: boolean, l: CgroupLimits): Promise<void> {
  const put = (file: string, value: string | number) => writeFile(path.join(dir, file), String(value));
  // Optional knobs: absent without swap accounting.
  const tryPut = (file: string, value: string | number) => put(file, value).catch(() => undefined);
  if (controllers.includes("memory") && l.memoryMb !== undefined) {
    const bytes = l.memoryMb * MIB;
    if (v2) await put("memory.max", bytes).then(() => tryPut("memory.swap.max", 0));
    else await put("memory.limit_in_bytes", bytes).then(() => tryPut("memory.memsw.limit_in_bytes", bytes));
  }
  if (controllers.includes("pids") && l.processes !== undefined) await put("pids.max", l.processes);
  if (controllers.includes("cpu") && l.cpus !== undefined) {
    const quota = Math.max(1000, Math.round(l.cpus * CPU_PERIOD_US));
    if (v2) await put("cpu.max", `${quota} ${CPU_PERIOD_US}`);
    else await put("cpu.cfs_period_us", CPU_PERIOD_US).then(() => put("cpu.cfs_quota_us", quota));
  }
}

/** v2: children of `dir` get the controllers only when `dir`'s cgroup.subtree_control lists them. */
export async function enableControllers(dir: string, controllers: Controller[]): Promise<void> {
  const enabled = (await readText(path.join(dir, "cgroup.subtree_control"))).split(/\s+/);
  const missing = controllers.filter((c) => !enabled.includes(c));
  if (missing.length > 0) await writeFile(path.join(dir, "cgroup.subtree_control"), missing.map((c) => `+${c}`).join(" "));
}
