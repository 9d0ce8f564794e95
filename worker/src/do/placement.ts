import { AppError, EGRESS_SECRETS_HEADER, ErrorCode, type ThreadRef, type ThreadSetup, runtimePaths, threadKey } from "../../../shared/src/index.ts";
import { chooseRuntime } from "../runtime/choose.ts";
import type { RuntimeCall, RuntimeClient } from "../runtime/client.ts";
import { callWithFailover, isRuntimeFailure } from "../runtime/failover.ts";
import { type RuntimeHealth, isolateHealth } from "../runtime/health.ts";
import { placeThread, rankRuntimes } from "../runtime/rendezvous.ts";
import { probeRuntime } from "../runtime/probe.ts";
import { type ThreadRow, type ThreadStore, rowRef } from "./store.ts";

/*
 * Where the health view lives: in the isolate (runtime/health.ts, isolateHealth), shared by every thread Durable
 * Object it hosts, not in a "fleet" Durable Object. A fleet object would put one more round trip, to one hot object,
 * in front of every call; here a runtime found dead by one thread is skipped by its neighbours in the same isolate for
 * free, and a thread alone in its isolate pays one probe to learn it. Losing the view (isolate evicted) costs nothing
 * but those probes: it holds plain data only (promises and I/O objects must not cross Durable Objects), and the
 * placement itself is in SQLite.
 */

/**
 * A thread's placement on a runtime: sticky (recorded in the thread's SQLite), moved only when its runtime does not
 * answer, to the rendezvous-best runtime that does; every call of the thread to its runtime goes through here.
 */
export class ThreadPlacement {
  /** Probes in flight, so calls that arrive together probe a runtime once. */
  private readonly probing = new Map<string, Promise<boolean>>();

  constructor(
    private readonly store: ThreadStore,
    private readonly client: RuntimeClient,
    private readonly urls: readonly string[],
    private readonly health: RuntimeHealth = isolateHealth,
  ) {}

  /** Where a new thread starts: the best-ranked runtime not known to be down (its first call probes if need be). */
  initial(ref: ThreadRef): string {
    const key = threadKey(ref);
    return rankRuntimes(this.urls, key).find((url) => this.health.verdict(url, true) !== "skip") ?? placeThread(this.urls, key);
  }

  /** The runtime for the thread's next call, moving the thread first when its own does not answer. */
  async route(replayable: boolean): Promise<{ thread: ThreadRow; url: string }> {
    const thread = this.store.thread();
    if (!thread) throw new AppError(ErrorCode.THREAD_NOT_FOUND, "no such thread");
    const url = await chooseRuntime({
      urls: this.urls,
      key: threadKey(rowRef(thread)),
      current: thread.runtime_url,
      replayable,
      health: this.health,
      probe: (u) => this.probe(u),
    });
    if (!url) {
      throw new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `no runtime answers (${this.urls.length} configured); try again shortly`);
    }
    if (url === thread.runtime_url) return { thread, url };
    await this.setUpOn(thread, url);
    const placedAt = new Date().toISOString();
    this.store.setRuntime(url, placedAt);
    const [from, to] = [this.urls.indexOf(thread.runtime_url), this.urls.indexOf(url)];
    console.log(JSON.stringify({ level: "info", msg: "thread moved", thread_id: thread.id, from, to }));
    return { thread: { ...thread, runtime_url: url, placed_at: placedAt }, url };
  }

  /**
   * Before a thread's first call on a runtime it moved to: that runtime knows nothing of the thread's settings (the
   * one it left kept them), so a `network: "none"` thread is set up there first, or its programs would get a network;
   * likewise a thread with an import policy.
   * A thread with the default mode needs nothing: its first call sets its workspace up. If the set-up fails, the
   * thread is not moved.
   */
  private async setUpOn(thread: ThreadRow, url: string): Promise<void> {
    if (thread.network === "default" && thread.import_policy === null && !thread.mounts?.length) return;
    try {
      await this.client.call(url, setupCall(thread));
    } catch (err) {
      if (isRuntimeFailure(err)) this.failed(url);
      throw err;
    }
  }

  /** A call to `url` failed as an unreachable runtime's would: probe it before its next use. */
  failed(url: string): void {
    this.health.suspect(url);
  }

  /** A call to the thread's runtime, routed and failed over (see callWithFailover). */
  async call(req: RuntimeCall, replayable: boolean): Promise<{ url: string; res: Response }> {
    const { url, value } = await callWithFailover({
      replayable,
      route: () => this.route(replayable),
      send: async ({ url: u, thread }) => {
        const res = await this.client.call(u, withSecrets(thread, req));
        this.health.up(u);
        return res;
      },
      failed: (u) => this.failed(u),
    });
    return { url, res: value };
  }

  private probe(url: string): Promise<boolean> {
    const pending = this.probing.get(url);
    if (pending) return pending;
    const probe = probeRuntime(this.client, url).finally(() => this.probing.delete(url));
    this.probing.set(url, probe);
    return probe;
  }
}

/** The runtime's workspace set-up call for a thread: it always carries the thread's settings. */
export function setupCall(thread: ThreadRow): RuntimeCall {
  const body: ThreadSetup = { network: thread.network, import_policy: thread.import_policy, ...(thread.mounts?.length ? { mounts: thread.mounts } : {}) };
  return withSecrets(thread, { method: "POST", path: runtimePaths.thread(rowRef(thread)), body: JSON.stringify(body) });
}

/**
 * A thread's egress secrets go sealed with each of its calls (the runtime keeps them in memory only, so one that
 * restarted has them again with the next call); a thread without any sends nothing.
 */
function withSecrets(thread: ThreadRow, req: RuntimeCall): RuntimeCall {
  return thread.egress_secrets ? { ...req, headers: { ...req.headers, [EGRESS_SECRETS_HEADER]: thread.egress_secrets } } : req;
}
