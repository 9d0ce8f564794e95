import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import type { MountConfig } from "./config.ts";
import { findMount } from "./mountinfo.ts";

/** Children get a fixed PATH and nothing else of the server's environment (no R2_*, no HMAC secret). */
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const MOUNT_WAIT_MS = 30_000;

/** The s3fs process that serves a mount this runtime made. */
export interface S3fsDaemon {
  pid: number;
  /** Settles when the process ends (crash, kill, or unmount). */
  exited: Promise<void>;
}

/**
 * Options for a workspace mount. No uid/gid/umask override: each object keeps the owner and mode it was created
 * with (x-amz-meta-uid/gid/mode), so per-thread uids, 0700 workspaces, exec bits and symlinks survive a remount.
 * No local data cache (use_cache) and a short stat cache: another runtime may have written the thread since.
 */
export function s3fsOptions(cfg: MountConfig, passwdFile: string): string[] {
  return [
    `passwd_file=${passwdFile}`,
    `url=${cfg.endpoint ?? ""}`,
    "use_path_request_style",
    `endpoint=${cfg.region}`,
    "sigv4",
    "allow_other", // sandboxes run as other uids than the root that mounts
    "default_permissions", // ... and the kernel checks the stored owner and mode for them, as on a local disk
    "mp_umask=022", // the mount point itself is not world-writable
    "complement_stat", // objects written by other S3 clients (no mode metadata) still get usable permissions
    "stat_cache_expire=10",
    // Bounded waits: a storage outage becomes an error in seconds, not a request that hangs for minutes.
    "connect_timeout=10",
    "readwrite_timeout=30",
    "retries=3",
    "dbglevel=warn",
  ];
}

/**
 * Mounts the bucket with s3fs in the foreground (so this runtime sees it exit) and detached (so it outlives a
 * restart of the server). The credentials file exists only until the mount is up: s3fs reads it once at start.
 */
export async function mountS3fs(cfg: MountConfig): Promise<S3fsDaemon> {
  if (!cfg.credentials || !cfg.endpoint) throw new Error("mounting needs R2_ENDPOINT, R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY");
  const dir = path.join(cfg.stateDir, "storage");
  // STATE_DIR itself as prepareRoots makes it (traversable); only its storage/ directory is closed.
  await mkdir(cfg.stateDir, { recursive: true, mode: 0o711 });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await mkdir(cfg.mountDir, { recursive: true, mode: 0o755 });
  const passwd = path.join(dir, `s3fs-${randomBytes(6).toString("hex")}.passwd`);
  const logFile = path.join(dir, "s3fs.log");
  const { accessKeyId, secretAccessKey } = cfg.credentials;
  await writeFile(passwd, `${accessKeyId}:${secretAccessKey}\n`, { mode: 0o600, flag: "wx" });
  const logFd = openSync(logFile, "w", 0o600);
  try {
    const args = [cfg.bucket, cfg.mountDir, "-f", ...s3fsOptions(cfg, passwd).flatMap((o) => ["-o", o])];
    const child = spawn(cfg.s3fsBin, args, { detached: true, stdio: ["ignore", logFd, logFd], env: { PATH: SYSTEM_PATH } });
    const exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", () => resolve());
    });
    child.unref();
    let gone = false;
    void exited.then(() => (gone = true));
    const deadline = Date.now() + MOUNT_WAIT_MS;
    while (findMount(cfg.mountDir)?.fstype !== "fuse.s3fs") {
      if (gone || Date.now() > deadline) {
        if (!gone) child.kill("SIGKILL");
        throw new Error(`s3fs did not mount ${cfg.bucket} at ${cfg.mountDir}: ${(await s3fsErrors(cfg)) || "no output"}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (child.pid === undefined) throw new Error("s3fs did not start");
    return { pid: child.pid, exited };
  } finally {
    closeSync(logFd);
    await rm(passwd, { force: true });
  }
}

/** The errors s3fs logged for the last mount (its log is under STATE_DIR/storage, rewritten at each mount). */
export async function s3fsErrors(cfg: Pick<MountConfig, "stateDir">): Promise<string> {
  const log = await readFile(path.join(cfg.stateDir, "storage", "s3fs.log"), "utf8").catch(() => "");
  const errors = log.split("\n").filter((line) => /\[(ERR|CRT)\]/.test(line) && !line.includes("debug level"));
  return errors.slice(-3).join("\n").slice(-2000);
}

/**
 * Detaches whatever is mounted at `dir` and ends the s3fs processes that served it, this runtime's or not (the
 * entrypoint's mount is adopted): a hung daemon does not always exit when its mount goes. Lazy (-z / -l): a dead
 * or hung FUSE mount still has users, and a plain unmount would wait for them; the lazy one detaches it now.
 */
export async function unmount(dir: string): Promise<void> {
  await detach(dir);
  for (const pid of await s3fsServing(dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

async function detach(dir: string): Promise<void> {
  const attempts: [string, string[]][] = [
    ["fusermount3", ["-u", "-z", dir]],
    ["fusermount", ["-u", "-z", dir]],
    ["umount", ["-l", dir]],
  ];
  for (const [file, args] of attempts) {
    if (!findMount(dir)) return;
    await execa(file, args, { reject: false, timeout: 10_000, stdin: "ignore", env: { PATH: SYSTEM_PATH }, extendEnv: false });
  }
  if (findMount(dir)) throw new Error(`could not unmount ${dir}`);
}

/** s3fs processes whose arguments name `dir` (reading /proc/<pid>/cmdline never waits on a FUSE daemon). */
async function s3fsServing(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (path.basename(argv[0] ?? "") === "s3fs" && argv.includes(dir)) pids.push(Number(name));
  }
  return pids;
}
