import { readdir } from "node:fs/promises";
import path from "node:path";
import type { TenantCacheReport } from "../../../shared/src/index.ts";
import type { Logger } from "../logger.ts";
import { chooseEvictions } from "./cache-lru.ts";
import { removeUnit, scanCache } from "./cache-scan.ts";

/** Entries one sweep looks at per tenant: bounds its cost whatever the sandbox made of the cache. */
const MAX_SCAN_ENTRIES = 500_000;
const FIRST_SWEEP_MS = 10_000;

export interface CacheUpkeepOptions {
  /** STATE_DIR/pip-cache: one directory per tenant (root's own), each shared by the tenant's threads. */
  root: string;
  capBytes: number;
  intervalMs: number;
  /** Something of the tenant runs (an install may be reading or filling the cache): leave its cache alone. */
  busy: (tenant: string) => boolean;
  logger: Logger;
}

/**
 * Keeps each tenant's package cache (pip's, uv's and the per-thread Bun caches) under a size cap, evicting the least
 * recently used entries (by the newest atime or mtime in each: see cache-lru.ts). A tenant is swept only while nothing
 * of it runs, and a sweep stops as soon as something starts, so no install sees its cache shrink under it.
 */
export class CacheUpkeep {
  private readonly reports = new Map<string, TenantCacheReport>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(private readonly opts: CacheUpkeepOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.opts.intervalMs);
    this.timer.unref();
    // A first look soon after start-up, so /health reports the caches without waiting a whole interval.
    setTimeout(() => void this.sweep(), Math.min(this.opts.intervalMs, FIRST_SWEEP_MS)).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** `/health`: each tenant's cache as the last sweep found it (and what it removed). */
  report(): { cap_bytes: number; tenants: Record<string, TenantCacheReport> } {
    return { cap_bytes: this.opts.capBytes, tenants: Object.fromEntries(this.reports) };
  }

  /** One pass over every tenant; a pass under way is joined, never run alongside. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepAll().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweepAll(): Promise<void> {
    const tenants = await readdir(this.opts.root).catch(() => []);
    for (const tenant of tenants) {
      if (this.opts.busy(tenant)) continue;
      await this.sweepTenant(tenant).catch((err: unknown) => this.opts.logger.warn("package cache sweep failed", { tenant, error: String(err) }));
    }
  }

  private async sweepTenant(tenant: string): Promise<void> {
    const dir = path.join(this.opts.root, tenant);
    const scan = await scanCache(dir, MAX_SCAN_ENTRIES);
    const victims = chooseEvictions(scan.units, this.opts.capBytes);
    let freed = 0;
    let removed = 0;
    for (const unit of victims) {
      if (this.opts.busy(tenant)) break;
      if (await removeUnit(dir, unit.segments)) {
        freed += unit.bytes;
        removed += 1;
      }
    }
    const report: TenantCacheReport = {
      bytes: Math.max(0, scan.bytes - freed),
      inodes: scan.inodes,
      evicted_entries: removed,
      evicted_bytes: freed,
      truncated: scan.truncated,
      measured_at: new Date().toISOString(),
    };
    this.reports.set(tenant, report);
    if (removed > 0) this.opts.logger.info("package cache trimmed", { tenant, removed, freed_bytes: freed, bytes: report.bytes });
  }
}
