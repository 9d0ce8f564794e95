import type { RuntimeClient } from "./client.ts";
import { type RuntimeHealth, isolateHealth } from "./health.ts";
import { probeRuntimeHealth } from "./probe.ts";

/** An isolate probes its runtimes for `/v1/health` when its answer is this old... */
export const HEALTH_MAX_AGE_MS = 2_000;
/** ...or sooner when its own calls saw a runtime change state, but never more often than this. */
export const HEALTH_MIN_GAP_MS = 250;

export type RuntimeProbe = { reachable: boolean; degraded: boolean };
type Snapshot = { urls: string; at: number; changes: number; probes: RuntimeProbe[] };

/**
 * The health route's answer, from state the isolate refreshes at a bounded rate: anyone may ask for `/v1/health`
 * (no credentials), so asking must not cost a signed call to every runtime each time. Requests that arrive while a
 * refresh is under way share it. The answer follows the isolate's own calls: when they mark a runtime up or down
 * (RuntimeHealth.changes), the next request refreshes, within the minimum gap.
 */
export class FleetHealthView {
  private snapshot: Snapshot | undefined;
  private pending: Promise<Snapshot> | undefined;

  constructor(
    private readonly health: RuntimeHealth = isolateHealth,
    private readonly now: () => number = Date.now,
  ) {}

  async probes(urls: readonly string[], probe: (url: string) => Promise<RuntimeProbe>): Promise<RuntimeProbe[]> {
    const key = urls.join(",");
    const s = this.snapshot;
    if (s && s.urls === key && !this.stale(s)) return s.probes;
    this.pending ??= this.refresh(key, urls, probe).finally(() => {
      this.pending = undefined;
    });
    const fresh = await this.pending;
    // A refresh started for another configuration (a changed RUNTIME_URL) answers for that one: start ours.
    return fresh.urls === key ? fresh.probes : this.probes(urls, probe);
  }

  private stale(s: Snapshot): boolean {
    const age = this.now() - s.at;
    return age >= HEALTH_MAX_AGE_MS || (s.changes !== this.health.changes && age >= HEALTH_MIN_GAP_MS);
  }

  private async refresh(key: string, urls: readonly string[], probe: (url: string) => Promise<RuntimeProbe>): Promise<Snapshot> {
    const changes = this.health.changes;
    const at = this.now();
    const probes = await Promise.all(urls.map(probe));
    this.snapshot = { urls: key, at, changes, probes };
    return this.snapshot;
  }
}

const isolateView = new FleetHealthView();

/** The isolate's current answer for `urls`, probing through `client` when it is due. */
export function fleetHealth(client: RuntimeClient, urls: readonly string[]): Promise<RuntimeProbe[]> {
  return isolateView.probes(urls, (url) => probeRuntimeHealth(client, url));
}
