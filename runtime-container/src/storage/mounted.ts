import os from "node:os";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import { fsCode } from "../files/safe-open.ts";
import type { Logger } from "../logger.ts";
import type { MountConfig } from "./config.ts";
import type { StorageGate, StorageHealth } from "./gate.ts";
import { findMount } from "./mountinfo.ts";
import { type ProbeResult, probeMount } from "./probe.ts";
import { type S3fsDaemon, mountS3fs, s3fsErrors, unmount } from "./s3fs.ts";

/**
 * Errors of a failing mount: the FUSE daemon is gone (ENOTCONN, ECONNABORTED) or a storage request failed (EIO,
 * ETIMEDOUT: a blip or an outage). Either way a probe decides at once: the error may also come late from a mount
 * that was already replaced, and must not take the new one down.
 */
const STORAGE_ERRORS = new Set(["ENOTCONN", "ECONNABORTED", "EIO", "ETIMEDOUT"]);

/**
 * The bucket mount and its health: mounted (or verified) at start, probed every STORAGE_PROBE_INTERVAL_S, lost as
 * soon as a probe, the s3fs process or a workspace operation says so, then remounted with backoff until it works.
 */
export class MountedStorage implements StorageGate {
  private available = false;
  private since = new Date();
  private checkedAt: Date | null = null;
  private error: string | null = "not started";
  private recoveries = 0;
  /** Bumped on every change of state, so a probe that started before a change cannot act after it. */
  private epoch = 0;
  private probes = 0;
  /** Failed periodic probes in a row: one slow answer under load is not an outage, two are. */
  private failures = 0;
  private checking = false;
  private recovering = false;
  private stopped = false;
  private daemon: S3fsDaemon | null = null;
  private timer: NodeJS.Timeout | undefined;
  private onLost = lostSignal();
  private readonly lostListeners: ((error: AppError) => void)[] = [];
  private readonly instance = `${os.hostname()}-${process.pid}`;

  constructor(
    private readonly cfg: MountConfig,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.attach();
    this.becomeAvailable();
    this.timer = setInterval(() => void this.check(), this.cfg.probeIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  async guard<T>(fn: () => Promise<T>): Promise<T> {
    // A vanished mount leaves an ordinary directory behind: writing there would silently go to the local disk.
    if (this.available && !findMount(this.cfg.mountDir)) this.lose(`nothing is mounted at ${this.cfg.mountDir} any more`);
    if (!this.available) throw this.unavailable();
    try {
      // A hung mount must not hold the request: it ends when the loss is noticed, whatever fn is blocked on.
      return await Promise.race([fn(), this.onLost.promise]);
    } catch (err) {
      throw this.explain(err);
    }
  }

  explain(err: unknown): unknown {
    const code = err instanceof AppError ? undefined : fsCode(err);
    if (code === undefined || !STORAGE_ERRORS.has(code)) return err;
    void this.check();
    return this.unavailable();
  }

  health(): StorageHealth {
    return {
      mode: "mount",
      ok: this.available,
      mount_dir: this.cfg.mountDir,
      mounted_by: this.cfg.mountBy,
      since: this.since.toISOString(),
      checked_at: this.checkedAt?.toISOString() ?? null,
      error: this.available ? null : this.error,
      recoveries: this.recoveries,
    };
  }

  /** Mounts the bucket (or adopts a working mount already there), or only verifies one made by someone else. */
  private async attach(): Promise<void> {
    if (this.cfg.mountBy === "runtime" && !(findMount(this.cfg.mountDir) && (await this.probe()).ok)) {
      await this.detach();
      const daemon = await mountS3fs(this.cfg);
      this.daemon = daemon;
      void daemon.exited.then(() => {
        if (this.daemon === daemon) this.lose("the s3fs process exited");
      });
      this.logger.info("bucket mounted", { bucket: this.cfg.bucket, mount_dir: this.cfg.mountDir, pid: daemon.pid });
    }
    const result = await this.probe();
    if (result.ok) return;
    if (this.cfg.mountBy === "external") throw new Error(result.error);
    // s3fs mounts first and checks the bucket after: a refused check leaves a dead mount, which must not stay.
    const why = await s3fsErrors(this.cfg);
    await this.detach();
    throw new Error(why ? `${result.error}; s3fs: ${why}` : result.error);
  }

  private async detach(): Promise<void> {
    this.daemon = null;
    await unmount(this.cfg.mountDir);
  }

  private async probe(): Promise<ProbeResult> {
    const result = await probeMount(this.cfg.mountDir, `${this.instance}-${++this.probes}`, this.cfg.probeTimeoutMs);
    this.checkedAt = new Date();
    return result;
  }

  private async check(): Promise<void> {
    if (!this.available || this.checking || this.stopped) return;
    this.checking = true;
    const epoch = this.epoch;
    try {
      const result = await this.probe();
      this.failures = result.ok ? 0 : this.failures + 1;
      if (!result.ok && this.failures >= 2 && epoch === this.epoch) this.lose(result.error);
      else if (!result.ok) setTimeout(() => void this.check(), 0).unref();
    } finally {
      this.checking = false;
    }
  }

  private becomeAvailable(): void {
    this.available = true;
    this.failures = 0;
    this.since = new Date();
    this.error = null;
    this.epoch++;
    this.onLost = lostSignal();
  }

  whenLost(listener: (error: AppError) => void): void {
    this.lostListeners.push(listener);
  }

  private lose(reason: string): void {
    if (!this.available || this.stopped) return;
    this.available = false;
    this.since = new Date();
    this.error = reason;
    this.epoch++;
    const error = this.unavailable();
    this.onLost.reject(error);
    this.logger.error("storage lost", { mount_dir: this.cfg.mountDir, reason });
    for (const listener of this.lostListeners) listener(error);
    void this.recover();
  }

  /** Retries until the storage works again: 1 s, 2 s, 4 s ... up to STORAGE_RETRY_MAX_S, with jitter. */
  private async recover(): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    try {
      for (let attempt = 0; !this.stopped && !this.available; attempt++) {
        try {
          await this.attach();
          this.recoveries++;
          this.becomeAvailable();
          this.logger.info("storage recovered", { mount_dir: this.cfg.mountDir, attempts: attempt + 1 });
        } catch (err) {
          this.error = err instanceof Error ? err.message : String(err);
          const waitMs = Math.round(Math.min(this.cfg.retryMaxMs, 1000 * 2 ** attempt) * (0.8 + Math.random() * 0.4));
          this.logger.warn("storage still unavailable", { attempt: attempt + 1, error: this.error, retry_in_ms: waitMs });
          await new Promise((r) => setTimeout(r, waitMs).unref());
        }
      }
    } finally {
      this.recovering = false;
    }
  }

  private unavailable(): AppError {
    const next = this.cfg.mountBy === "runtime" ? "the runtime is remounting it" : "waiting for the mount to come back";
    return new AppError(ErrorCode.STORAGE_UNAVAILABLE, `workspace storage is unavailable (${this.error}); ${next}, retry shortly`, {
      since: this.since.toISOString(),
    });
  }
}

/** Rejected when the storage is lost; a fresh one replaces it when the storage is back. */
function lostSignal(): { promise: Promise<never>; reject: (err: unknown) => void } {
  let reject: (err: unknown) => void = () => undefined;
  const promise = new Promise<never>((_, r) => (reject = r));
  promise.catch(() => undefined);
  return { promise, reject };
}
