import type { DiskUsage, RuntimeDisk } from "../../../shared/src/index.ts";
import type { Logger } from "../logger.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { type ThreadUsage, measureThread } from "./thread-usage.ts";
import type { Usage } from "./usage-walk.ts";
import { type QuotaLimits, diskUsage, isOver, quotaExceeded, stopLine } from "./verdict.ts";

/** The watchdog walks again after at least this long, and at least WALK_FACTOR times the last walk's duration. */
export const MIN_INTERVAL_MS = 1000;
export const WALK_FACTOR = 20;
/** A measurement nothing has invalidated is still trusted for this long (writers the runtime does not track). */
const MAX_AGE_MS = 30_000;
const BLOCK = 4096;

/** Per thread: the last walk, what is reserved, and the live runs the watchdog may stop. */
interface ThreadState {
  tenant: string;
  last: ThreadUsage | null;
  /** `last` had reservations added to it: an upper estimate, never a reason to refuse without walking again. */
  estimated: boolean;
  /** Bumped by anything that may change the tree unseen (a run starting or ending, a deletion). */
  generation: number;
  /** The generation `last` is exact for (-1: none). */
  cleanAt: number;
  /** The generation the walk behind `last` started in. */
  lastAt: number;
  walking: Promise<ThreadUsage> | null;
  walkingAt: number;
  pending: Usage;
  runs: Set<(line: string) => void>;
  timer: NodeJS.Timeout | null;
}

export interface Admission {
  /** What the thread may still add; a run's RLIMIT_FSIZE is at most `bytes`. */
  remaining: Usage;
}

/**
 * Enforced accounting with refusal, for storage without kernel quotas (ext4 without project quotas, the s3fs mount):
 * a thread over its quota starts no run and takes no upload (507 DISK_QUOTA_EXCEEDED); a run gets RLIMIT_FSIZE of at
 * most what is left, and while any run of the thread lives, a watchdog walks its tree again every
 * max(MIN_INTERVAL_MS, WALK_FACTOR × last walk) and stops its runs when it is over. Walks of one thread never overlap.
 */
export class DiskQuota {
  private readonly threads = new Map<string, ThreadState>();

  constructor(
    readonly limits: QuotaLimits,
    private readonly logger: Logger,
    /** The storage gate: a walk on a lost mount answers STORAGE_UNAVAILABLE. */
    private readonly guard: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
  ) {}

  /** Refuses (507) when the thread is over its quota; else says what is left. */
  async admit(loc: WorkspaceLocation, what = "the run was not started"): Promise<Admission> {
    const st = this.state(loc);
    let usage = await this.current(loc);
    if (isOver(usage, this.limits, st.pending) && st.estimated) usage = await this.measure(loc);
    if (isOver(usage, this.limits, st.pending)) throw quotaExceeded(loc, usage, this.limits, what);
    return {
      remaining: { bytes: this.limits.bytes - usage.bytes - st.pending.bytes, inodes: this.limits.inodes - usage.inodes - st.pending.inodes },
    };
  }

  /**
   * Reserves room for a file of `bytes` the runtime is about to write (an upload), or refuses (507). Call `done`
   * after the write: the reservation becomes part of the thread's (estimated) usage, or is dropped.
   */
  async reserve(loc: WorkspaceLocation, bytes: number, what: string): Promise<(written: boolean) => void> {
    const st = this.state(loc);
    const need = { bytes: Math.ceil(bytes / BLOCK) * BLOCK, inodes: 1 };
    const withNeed = () => ({ bytes: st.pending.bytes + need.bytes, inodes: st.pending.inodes + need.inodes });
    let usage = await this.current(loc);
    if (isOver(usage, this.limits, withNeed()) && st.estimated) usage = await this.measure(loc);
    if (isOver(usage, this.limits, withNeed())) throw quotaExceeded(loc, usage, this.limits, what);
    st.pending = withNeed();
    let settled = false;
    return (written) => {
      if (settled) return;
      settled = true;
      st.pending = { bytes: st.pending.bytes - need.bytes, inodes: st.pending.inodes - need.inodes };
      if (!written || !st.last) return;
      st.last = { ...st.last, bytes: st.last.bytes + need.bytes, inodes: st.last.inodes + need.inodes };
      st.estimated = true;
    };
  }

  /**
   * Registers a live run of the thread: `stop` is called (with the line for its stderr) when a watchdog walk finds the
   * thread over its quota. Returns the function to call when the run has ended.
   */
  watch(loc: WorkspaceLocation, stop: (line: string) => void): () => void {
    const st = this.state(loc);
    st.runs.add(stop);
    st.generation++;
    if (!st.timer) this.schedule(loc, st);
    return () => {
      if (!st.runs.delete(stop)) return;
      st.generation++;
      if (st.runs.size > 0) return;
      if (st.timer) clearTimeout(st.timer);
      st.timer = null;
      // Measure now, so the next call usually finds a fresh count (or the walk under way).
      void this.current(loc).catch((err: unknown) => this.logger.warn("disk usage walk failed", { thread: loc.key, error: String(err) }));
    };
  }

  /** Something changed the tree outside a watched run (a deletion): the next check walks again. */
  invalidate(loc: WorkspaceLocation): void {
    this.state(loc).generation++;
  }

  /** The thread is gone (deleted): drop what is known of it. */
  forget(loc: WorkspaceLocation): void {
    const st = this.threads.get(loc.key);
    if (st && st.runs.size === 0) this.threads.delete(loc.key);
  }

  /** Whether any guest process of the tenant (a run, an install, a context's interpreter) is alive now. */
  tenantBusy(tenant: string): boolean {
    for (const st of this.threads.values()) if (st.tenant === tenant && st.runs.size > 0) return true;
    return false;
  }

  /** Whether any guest process of the thread is alive now. */
  threadBusy(key: string): boolean {
    return (this.threads.get(key)?.runs.size ?? 0) > 0;
  }

  /** The thread's usage for its workspace info (walks when the last count may be stale). */
  async usage(loc: WorkspaceLocation): Promise<DiskUsage> {
    return diskUsage(await this.current(loc), this.limits);
  }

  /** `/health`: the threads measured since start-up (their last walks), in all and per tenant; never walks. */
  report(): RuntimeDisk {
    const sum = () => ({ bytes: 0, inodes: 0, threads: 0, over_quota: 0 });
    const total = sum();
    const tenants: RuntimeDisk["tenants"] = {};
    for (const st of this.threads.values()) {
      if (!st.last) continue;
      const tenant = (tenants[st.tenant] ??= sum());
      for (const t of [total, tenant]) {
        t.bytes += st.last.bytes;
        t.inodes += st.last.inodes;
        t.threads += 1;
        t.over_quota += isOver(st.last, this.limits) ? 1 : 0;
      }
    }
    return { quota: { ...this.limits }, total, tenants };
  }

  /**
   * The last count when nothing may have changed it since, else a new walk. While runs (or a context) of the thread
   * live, the tree changes unseen and no count is exact; one from a walk that started since the last run came or went
   * and less than MIN_INTERVAL_MS ago is as fresh as the watchdog's own view, so the checks one call makes in a row
   * (its admission, its files, its run) share one walk.
   */
  private current(loc: WorkspaceLocation): Promise<ThreadUsage> {
    const st = this.state(loc);
    const age = st.last ? Date.now() - st.last.measuredAt : Number.POSITIVE_INFINITY;
    const exact = st.cleanAt === st.generation && st.runs.size === 0 && age < MAX_AGE_MS;
    const recent = st.lastAt === st.generation && age < MIN_INTERVAL_MS;
    return (exact || recent) && st.last ? Promise.resolve(st.last) : this.measure(loc);
  }

  /** A walk that started after the last change; one already under way is shared, never run alongside. */
  private measure(loc: WorkspaceLocation): Promise<ThreadUsage> {
    const st = this.state(loc);
    if (st.walking && st.walkingAt === st.generation) return st.walking;
    const prior = st.walking?.catch(() => undefined);
    const generation = st.generation;
    const walk = (async () => {
      await prior;
      const usage = await this.guard(() => measureThread(loc, this.limits.inodes));
      st.last = usage;
      st.lastAt = generation;
      st.estimated = false;
      st.cleanAt = generation === st.generation && st.runs.size === 0 ? generation : -1;
      return usage;
    })();
    st.walking = walk;
    st.walkingAt = generation;
    const clear = () => {
      if (st.walking === walk) st.walking = null;
    };
    walk.then(clear, clear);
    return walk;
  }

  /** The watchdog's next walk; it stops every live run of the thread when the walk finds it over. */
  private schedule(loc: WorkspaceLocation, st: ThreadState): void {
    const interval = Math.max(MIN_INTERVAL_MS, WALK_FACTOR * (st.last?.walkMs ?? 0));
    const timer = setTimeout(async () => {
      const usage = await this.measure(loc).catch((err: unknown) => {
        this.logger.warn("disk usage walk failed", { thread: loc.key, error: String(err) });
        return null;
      });
      // The runs ended meanwhile (and maybe others started, with a watchdog of their own).
      if (st.timer !== timer) return;
      if (usage && isOver(usage, this.limits)) {
        this.logger.info("thread over its disk quota: stopping its runs", { thread: loc.key, bytes: usage.bytes, inodes: usage.inodes });
        for (const stop of st.runs) stop(stopLine(loc, usage, this.limits));
      }
      this.schedule(loc, st);
    }, interval);
    timer.unref();
    st.timer = timer;
  }

  private state(loc: WorkspaceLocation): ThreadState {
    let st = this.threads.get(loc.key);
    if (!st) {
      st = {
        tenant: loc.tenant,
        last: null,
        estimated: false,
        generation: 0,
        cleanAt: -1,
        lastAt: -1,
        walking: null,
        walkingAt: -1,
        pending: { bytes: 0, inodes: 0 },
        runs: new Set(),
        timer: null,
      };
      this.threads.set(loc.key, st);
    }
    return st;
  }
}
