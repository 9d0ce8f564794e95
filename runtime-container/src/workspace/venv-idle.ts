import { readdir } from "node:fs/promises";
import path from "node:path";
import { ThreadRefSchema } from "../../../shared/src/index.ts";
import type { Logger } from "../logger.ts";
import type { WorkspaceManager } from "./manager.ts";

export interface VenvIdleOptions {
  /** STATE_DIR/venvs: `<tenant>/<thread>` venvs (root's own directories; the venvs themselves are the threads'). */
  root: string;
  ttlMs: number;
  intervalMs: number;
  /** Something of the thread lives: a run, an install, a context's interpreter, or its display. */
  busy: (key: string) => boolean;
  logger: Logger;
}

/**
 * Removes the local venvs of threads idle for longer than the TTL (disk on a shared host); the thread's next call
 * rebuilds it from its manifest (pyproject.toml) and says so with `install` events (see kind-handler.ts). A thread
 * not used since this runtime started counts as used at its start.
 */
export class VenvIdleReaper {
  private readonly since = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(
    private readonly workspaces: WorkspaceManager,
    private readonly opts: VenvIdleOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass: the number of venvs removed. A pass under way is joined. */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepAll().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweepAll(): Promise<number> {
    let removed = 0;
    for (const tenant of await readdir(this.opts.root).catch(() => [])) {
      // `<thread>.build-*` and `.old-*` are a build's own; only whole venvs of valid thread ids are looked at.
      for (const thread of await readdir(path.join(this.opts.root, tenant)).catch(() => [])) {
        const ref = ThreadRefSchema.safeParse({ tenant, thread });
        if (!ref.success) continue;
        const loc = this.workspaces.locate(ref.data);
        const idle = () => Date.now() - (this.workspaces.lastUsed(loc.key) ?? this.since) >= this.opts.ttlMs && !this.opts.busy(loc.key);
        if (!idle()) continue;
        const dropped = await this.workspaces.dropVenv(loc, idle).catch((err: unknown) => {
          this.opts.logger.warn("removing an idle venv failed", { tenant, thread_id: thread, error: String(err) });
          return false;
        });
        if (!dropped) continue;
        removed += 1;
        this.opts.logger.info("idle venv removed; the next call rebuilds it from the manifest", { tenant, thread_id: thread });
      }
    }
    return removed;
  }
}
