import type { AppError } from "../../../shared/src/index.ts";
import type { RuntimeConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import { MountedStorage } from "./mounted.ts";

/** What /health reports about the workspace storage. */
export interface StorageHealth {
  mode: "local" | "mount";
  ok: boolean;
  mount_dir?: string;
  mounted_by?: "runtime" | "external";
  /** When the current state (available or not) began. */
  since: string;
  checked_at?: string | null;
  error?: string | null;
  /** How many times the mount was lost and came back since start. */
  recoveries?: number;
}

/** Every workspace operation passes through the gate, which answers STORAGE_UNAVAILABLE while storage is lost. */
export interface StorageGate {
  /** Mounts or verifies the storage; rejects with a readable message when it cannot be used. */
  start(): Promise<void>;
  stop(): void;
  /** Runs `fn` if storage is available; storage failures inside it become STORAGE_UNAVAILABLE. */
  guard<T>(fn: () => Promise<T>): Promise<T>;
  /** The error to report for a thrown value: STORAGE_UNAVAILABLE when the mount failed under it, else `err`. */
  explain(err: unknown): unknown;
  health(): StorageHealth;
  /**
   * Calls `listener` each time the storage is lost, with the error calls get meanwhile: processes rooted in the old
   * mount must be stopped (proot resolves paths by name, so they would go on writing into whatever is mounted next).
   */
  whenLost(listener: (error: AppError) => void): void;
}

/** A plain local directory: always there, nothing to watch. */
function localStorage(): StorageGate {
  const since = new Date().toISOString();
  return {
    start: () => Promise.resolve(),
    stop: () => undefined,
    guard: (fn) => fn(),
    explain: (err) => err,
    health: () => ({ mode: "local", ok: true, since }),
    whenLost: () => undefined,
  };
}

export function createStorage(config: Pick<RuntimeConfig, "storage">, logger: Logger): StorageGate {
  return config.storage.mode === "local" ? localStorage() : new MountedStorage(config.storage, logger.child({ component: "storage" }));
}
