import type { Logger } from "../../logger.ts";
import type { EgressSource } from "./egress-proxy.ts";
import { type NamespaceMode, type NetworkSetup, type ThreadNamespace, createNamespace } from "./namespace.ts";

/** A run's or a context's hold on its thread's network namespace. */
export interface NetworkLease {
  /** For the launcher's `--netns`. */
  path: string;
  /** Idempotent. */
  release(): void;
}

interface Entry {
  mode: NamespaceMode;
  ns: Promise<ThreadNamespace>;
  leases: number;
  lastUsed: number;
  retired: boolean;
}

/**
 * One network namespace per thread (keyed by the thread's uid, which is the thread's alone), made on its first run
 * and shared by all its runs, contexts and its display while the thread is active: a server one run starts on
 * 127.0.0.1 is reachable by the thread's later runs, never by another thread. It is released when the thread is
 * (releaseThread), when it has been idle for `idleMs` with nothing in it, when the thread's network mode changes,
 * or when its holder dies; then its processes are ended at once and its path given up once the last lease is
 * returned (a prepared command may still be about to join it).
 */
export class ThreadNetworks {
  private readonly byUid = new Map<number, Entry>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly setup: NetworkSetup,
    private readonly idleMs: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.reap(), Math.max(1000, Math.min(idleMs / 2, 30_000)));
    this.timer.unref();
  }

  /** `egress`: the thread's policy and secrets, for its proxy (mode "proxy"), read live at each request. */
  async acquire(uid: number, mode: NamespaceMode, egress?: EgressSource): Promise<NetworkLease> {
    let entry = this.byUid.get(uid);
    if (entry && entry.mode !== mode) this.retire(uid, entry);
    entry = this.byUid.get(uid);
    if (!entry) entry = this.create(uid, mode, egress);
    const held = entry;
    held.leases++;
    held.lastUsed = Date.now();
    let ns: ThreadNamespace;
    try {
      ns = await held.ns;
    } catch (err) {
      this.returnLease(held);
      throw err;
    }
    let released = false;
    return {
      path: ns.path,
      release: () => {
        if (released) return;
        released = true;
        this.returnLease(held);
      },
    };
  }

  /** The thread is released or deleted: its namespace goes (runs still in it lose their way out). */
  releaseUid(uid: number): boolean {
    const entry = this.byUid.get(uid);
    if (entry) this.retire(uid, entry);
    return entry !== undefined;
  }

  /** Host pids of a thread's namespace processes (tests and diagnostics). */
  async pidsOf(uid: number): Promise<number[]> {
    const ns = await this.byUid.get(uid)?.ns.catch(() => null);
    return ns?.pids ?? [];
  }

  get size(): number {
    return this.byUid.size;
  }

  closeAll(): void {
    clearInterval(this.timer);
    for (const [uid, entry] of [...this.byUid]) this.retire(uid, entry);
  }

  private create(uid: number, mode: NamespaceMode, egress?: EgressSource): Entry {
    const entry: Entry = { mode, ns: createNamespace(mode, this.setup, egress), leases: 0, lastUsed: Date.now(), retired: false };
    this.byUid.set(uid, entry);
    entry.ns.then(
      (ns) => {
        // A holder that dies (killed from outside) takes the namespace's set-up with it: the next run makes a new one.
        void ns.exited.then(() => {
          if (this.byUid.get(uid) === entry) this.retire(uid, entry);
        });
      },
      (err: Error) => {
        if (this.byUid.get(uid) === entry) this.byUid.delete(uid);
        this.logger.error("a sandbox network namespace could not be made", { uid, mode, error: err.message });
      },
    );
    return entry;
  }

  private retire(uid: number, entry: Entry): void {
    if (this.byUid.get(uid) === entry) this.byUid.delete(uid);
    if (entry.retired) return;
    entry.retired = true;
    void entry.ns.then(
      (ns) => (entry.leases === 0 ? ns.close() : ns.stop()),
      () => undefined,
    );
  }

  private returnLease(entry: Entry): void {
    entry.leases--;
    entry.lastUsed = Date.now();
    if (entry.retired && entry.leases === 0) void entry.ns.then((ns) => ns.close(), () => undefined);
  }

  private reap(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const [uid, entry] of [...this.byUid]) {
      if (entry.leases > 0 || entry.lastUsed > cutoff) continue;
      this.retire(uid, entry);
      this.logger.debug("idle sandbox network namespace released", { uid });
    }
  }
}
