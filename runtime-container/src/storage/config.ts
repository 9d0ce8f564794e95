import path from "node:path";
import { SYSTEM_DIRS } from "../host-dirs.ts";

/** The storage variables as config.ts parsed them (before the derived values below). */
export interface StorageEnv {
  STORAGE_MODE: "local" | "mount";
  STORAGE_MOUNT_BY: "runtime" | "external";
  STORAGE_MOUNT_DIR?: string;
  R2_BUCKET?: string;
  R2_ENDPOINT?: string;
  R2_REGION: string;
  R2_ACCESS_KEY_ID?: string;
  R2_SECRET_ACCESS_KEY?: string;
  S3FS_BIN: string;
  STORAGE_PROBE_INTERVAL_S: number;
  STORAGE_PROBE_TIMEOUT_S: number;
  STORAGE_RETRY_MAX_S: number;
  WORKSPACES_ROOT?: string;
  STATE_DIR: string;
}

export interface MountConfig {
  mode: "mount";
  /** `runtime`: the runtime mounts the bucket itself and remounts it when lost; `external`: it only verifies. */
  mountBy: "runtime" | "external";
  bucket: string;
  mountDir: string;
  endpoint: string | null;
  region: string;
  /** Held in memory only; written to a 0600 file under STATE_DIR for the moment s3fs starts. */
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
  s3fsBin: string;
  stateDir: string;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  retryMaxMs: number;
}
export type StorageConfig = { mode: "local" } | MountConfig;

/** R2 and S3 bucket names: 3 to 63 lowercase letters, digits, dots and hyphens. */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const inside = (child: string, parent: string) => child !== parent && child.startsWith(`${parent.replace(/\/$/, "")}/`);
const mountDirOf = (env: StorageEnv) => env.STORAGE_MOUNT_DIR ?? `/mnt/r2/${env.R2_BUCKET ?? "bucket"}`;

/** Every reason the storage variables cannot work together, as (variable, message) pairs. */
export function storageProblems(env: StorageEnv): { path: string; message: string }[] {
  if (env.STORAGE_MODE === "local") return [];
  const problems: { path: string; message: string }[] = [];
  const need = (key: keyof StorageEnv, why: string) => {
    if (env[key] === undefined) problems.push({ path: key, message: `set ${key} (${why})` });
  };
  need("R2_BUCKET", "STORAGE_MODE=mount mounts one bucket");
  if (env.STORAGE_MOUNT_BY === "runtime") {
    const why = "the runtime mounts the bucket itself; or set STORAGE_MOUNT_BY=external";
    for (const key of ["R2_ENDPOINT", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"] as const) need(key, why);
  }
  const mountDir = mountDirOf(env);
  if (env.WORKSPACES_ROOT !== undefined && !inside(env.WORKSPACES_ROOT, mountDir)) {
    problems.push({ path: "WORKSPACES_ROOT", message: `must be inside the bucket mount ${mountDir} (or unset: ${mountDir}/threads)` });
  }
  if (env.STATE_DIR === mountDir || inside(env.STATE_DIR, mountDir) || inside(mountDir, env.STATE_DIR)) {
    problems.push({ path: "STATE_DIR", message: "must be local disk, apart from the bucket mount (venvs and credentials live there)" });
  }
  // proot shows these host directories as they are: a credentials file there would be readable by sandboxes.
  const visible = [...SYSTEM_DIRS, "/var"].find((d) => env.STATE_DIR === d || inside(env.STATE_DIR, d));
  if (visible && env.STORAGE_MOUNT_BY === "runtime") problems.push({ path: "STATE_DIR", message: `must not be under ${visible}, which sandboxes see` });
  // s3fs takes its options comma-separated: a comma in a path or URL would split an option in two.
  for (const key of ["STATE_DIR", "STORAGE_MOUNT_DIR", "R2_ENDPOINT"] as const) {
    if (env[key]?.includes(",")) problems.push({ path: key, message: "must not contain a comma (s3fs option syntax)" });
  }
  return problems;
}

/** The parsed config with WORKSPACES_ROOT resolved and the storage credentials kept only inside `storage`. */
export type WithStorage<T> = Omit<T, "WORKSPACES_ROOT" | "R2_ACCESS_KEY_ID" | "R2_SECRET_ACCESS_KEY"> & {
  WORKSPACES_ROOT: string;
  storage: StorageConfig;
};

/** Workspaces live at `<mount>/threads` on the bucket unless WORKSPACES_ROOT says where; locally at `localRoot`. */
export function withStorage<T extends StorageEnv>(env: T, localRoot: string): WithStorage<T> {
  const { R2_ACCESS_KEY_ID: accessKeyId, R2_SECRET_ACCESS_KEY: secretAccessKey, WORKSPACES_ROOT, ...rest } = env;
  if (env.STORAGE_MODE === "local") return { ...rest, WORKSPACES_ROOT: WORKSPACES_ROOT ?? localRoot, storage: { mode: "local" } };
  const mountDir = path.resolve(mountDirOf(env));
  const storage: MountConfig = {
    mode: "mount",
    mountBy: env.STORAGE_MOUNT_BY,
    bucket: env.R2_BUCKET ?? "",
    mountDir,
    endpoint: env.R2_ENDPOINT ?? null,
    region: env.R2_REGION,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : null,
    s3fsBin: env.S3FS_BIN,
    stateDir: env.STATE_DIR,
    probeIntervalMs: env.STORAGE_PROBE_INTERVAL_S * 1000,
    probeTimeoutMs: env.STORAGE_PROBE_TIMEOUT_S * 1000,
    retryMaxMs: env.STORAGE_RETRY_MAX_S * 1000,
  };
  return { ...rest, WORKSPACES_ROOT: WORKSPACES_ROOT ?? path.join(mountDir, "threads"), storage };
}

/** Storage credentials leave the process environment once parsed, so no child the server starts inherits them. */
export function dropStorageSecrets(env: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(env)) if (key.startsWith("R2_")) delete env[key];
}
