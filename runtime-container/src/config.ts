import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { KNOWN_BAD_DEV_SECRET } from "../../shared/src/index.ts";
import { type AllowList, parseAllowList } from "./sandbox/network/cidr.ts";
import { parseHostMap } from "./sandbox/network/egress-target.ts";
import { BUCKET_NAME, type WithStorage, storageProblems, withStorage } from "./storage/config.ts";

/** The repository root, for defaults that point into it (the seccomp helper built by scripts/setup.sh). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUILT_PROOT = path.join(REPO_ROOT, ".build/proot-5.4/proot");

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(["1", "0", "true", "false", "yes", "no"]).transform((v) => ["1", "true", "yes"].includes(v));
const absPath = z.string().min(1).transform((p) => path.resolve(p));
const allowList = z.string().transform((text, ctx): AllowList => {
  const parsed = parseAllowList(text);
  if (!("bad" in parsed)) return parsed;
  ctx.addIssue({ code: "custom", message: `not an address, CIDR range or 127.0.0.1:PORT: ${parsed.bad.join(", ")} (e.g. 203.0.113.7/32,127.0.0.1:3141)` });
  return { ranges: [], loopbackPorts: [] };
});

const hostMap = z.string().transform((text, ctx): Map<string, string> => {
  const parsed = parseHostMap(text);
  if (!("bad" in parsed)) return parsed;
  ctx.addIssue({ code: "custom", message: `not NAME=ADDRESS: ${parsed.bad.join(", ")} (e.g. mirror.internal=10.1.2.3)` });
  return new Map();
});

const LIMIT_PAIRS = [
  ["LIMIT_MEMORY_MB", "MAX_MEMORY_MB"],
  ["LIMIT_PROCESSES", "MAX_PROCESSES"],
  ["LIMIT_OPEN_FILES", "MAX_OPEN_FILES"],
  ["LIMIT_FILE_SIZE_MB", "MAX_FILE_SIZE_MB"],
  ["LIMIT_CPU_S", "MAX_CPU_S"],
] as const;

/** A thread's ceiling must hold at least one run with the default limits. */
const THREAD_CEILINGS = [
  ["THREAD_MEMORY_MB", "LIMIT_MEMORY_MB"],
  ["THREAD_PROCESSES", "LIMIT_PROCESSES"],
] as const;

const ConfigSchema = z
  .object({
    HOST: z.string().default("127.0.0.1"),
    PORT: int(0, 65_535).default(8788),
    /** Unset is not development: only an explicit NODE_ENV=development allows the published secret. */
    NODE_ENV: z.string().optional(),
    /** Shared with the worker; no default, so a runtime never runs on a secret someone else knows. */
    HMAC_SECRET: z
      .string({ error: (issue) => (issue.input === undefined ? "not set: the worker's HMAC secret (openssl rand -hex 32); `npm start` makes one per checkout" : undefined) })
      .min(16, "HMAC_SECRET must be at least 16 characters"),
    /** This runtime's entry in the worker's RUNTIME_URL: set, requests signed for another runtime are refused. */
    RUNTIME_ID: z.string().min(1).optional(),
    /** Unset: `<STORAGE_MOUNT_DIR>/threads` with STORAGE_MODE=mount, else .data/r2/threadbox/threads in the repository. */
    WORKSPACES_ROOT: absPath.optional(),
    STATE_DIR: absPath.default(path.join(REPO_ROOT, ".data/runtime")),
    /** Where workspaces live: a local directory, or the R2 bucket mounted with s3fs (see storage/). */
    STORAGE_MODE: z.enum(["local", "mount"]).default("local"),
    /** `runtime`: the runtime mounts the bucket and remounts it when lost; `external`: it only verifies a mount. */
    STORAGE_MOUNT_BY: z.enum(["runtime", "external"]).default("runtime"),
    STORAGE_MOUNT_DIR: absPath.optional(),
    R2_BUCKET: z.string().regex(BUCKET_NAME, "3-63 lowercase letters, digits, dots or hyphens").optional(),
    R2_ENDPOINT: z.url().optional(),
    R2_REGION: z.string().min(1).default("auto"),
    R2_ACCESS_KEY_ID: z.string().min(1).optional(),
    R2_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    S3FS_BIN: z.string().default("s3fs"),
    STORAGE_PROBE_INTERVAL_S: int(1, 3600).default(15),
    STORAGE_PROBE_TIMEOUT_S: int(1, 300).default(10),
    STORAGE_RETRY_MAX_S: int(1, 3600).default(60),
    ISOLATION: z.enum(["proot", "bwrap", "none"]).default("proot"),
    ALLOW_UNSAFE_NONE_ISOLATION: bool.default(false),
    /** proot 5.4 with its seccomp accelerator when scripts/build-proot.sh built it (setup.sh does), else the system's. */
    PROOT_BIN: z.string().default(existsSync(BUILT_PROOT) ? BUILT_PROOT : "proot"),
    BWRAP_BIN: z.string().default("bwrap"),
    SECCOMP_HELPER: z.string().default(path.join(REPO_ROOT, ".build/seccomp-exec")),
    /**
     * Threads run as uid SANDBOX_UID_BASE + slot * SANDBOX_ID_RANGE + n, tenants' gids likewise: each runtime on a
     * host claims a free slot (UID_CLAIMS_DIR), so two runtimes never share a uid; n is recorded in STATE_DIR.
     */
    SANDBOX_UID_BASE: int(1000, 2 ** 31 - 1).default(200_000_000),
    SANDBOX_ID_RANGE: int(16, 10_000_000).default(100_000),
    UID_CLAIMS_DIR: absPath.default("/run/threadbox/id-slots"),
    PID_NAMESPACE: z.enum(["auto", "on", "off"]).default("auto"),
    /**
     * Control groups for whole-run limits (memory and processes of a run or context together, and the thread-wide
     * ceilings below): `auto` takes v2 when its tree offers the controllers, else v1; `off` leaves the rlimits alone.
     */
    CGROUPS: z.enum(["auto", "v2", "v1", "off"]).default("auto"),
    /** Optional ceilings for all of one thread's runs and contexts together (cgroups only); unset: none. */
    THREAD_MEMORY_MB: int(64, 2 ** 20).optional(),
    THREAD_PROCESSES: int(8, 2 ** 20).optional(),
    /** CPU time per period in cores (1.5: one and a half cores' worth), shared by all of the thread's processes. */
    THREAD_CPUS: z.coerce.number().min(0.01).max(1024).optional(),
    /**
     * Each thread has a network namespace of its own; with network "default" it reaches the internet through a
     * user-mode stack, but not the host, loopback, link-local or private ranges, except these (comma-separated
     * CIDR ranges and 127.0.0.1:PORT host loopback ports; PIP_INDEX_URL, PIP_EXTRA_INDEX_URL and NPM_REGISTRY_URL are
     * added on their own).
     */
    SANDBOX_NET_ALLOW: allowList.default({ ranges: [], loopbackPorts: [] }),
    /**
     * Names the egress proxy (threads with a network policy) takes as given instead of resolving them, comma-separated
     * NAME=ADDRESS; the address is reached even when private or loopback, so name only what the operator vouches for
     * (a package mirror; the tests' loopback servers). A thread's policy must still allow the name.
     */
    EGRESS_HOSTS: hostMap.default(new Map()),
    /** PEM file of CAs the egress proxy trusts, besides the system's, for the TLS it makes to a secret's host. */
    EGRESS_CA_FILE: absPath.optional(),
    /** A thread's network namespace is released after this long with nothing of the thread running in it. */
    SANDBOX_NET_IDLE_S: int(1, 86_400).default(900),
    /** Preview URL connections (relay processes) open at once per thread; more wait for none: 429 RATE_LIMITED. */
    PREVIEW_CONNECTIONS_PER_THREAD: int(1, 10_000).default(64),
    /** Start even when a required layer (uid switch, seccomp) is missing; every health answer then says degraded. */
    ALLOW_DEGRADED_ISOLATION: bool.default(false),
    /** Per-run resource limits (setrlimit in the seccomp helper): defaults, and the most a call may ask for. */
    LIMIT_MEMORY_MB: int(64, 2 ** 20).default(4096),
    MAX_MEMORY_MB: int(64, 2 ** 20).default(16_384),
    LIMIT_PROCESSES: int(8, 2 ** 20).default(256),
    MAX_PROCESSES: int(8, 2 ** 20).default(4096),
    LIMIT_OPEN_FILES: int(16, 2 ** 20).default(1024),
    MAX_OPEN_FILES: int(16, 2 ** 20).default(65_536),
    LIMIT_FILE_SIZE_MB: int(1, 2 ** 24).default(1024),
    MAX_FILE_SIZE_MB: int(1, 2 ** 24).default(65_536),
    /** Unset: a run's CPU limit is its timeout plus the kill grace plus 1 s, so the wall timeout fires first. */
    LIMIT_CPU_S: int(1, 86_400).optional(),
    MAX_CPU_S: int(1, 86_400).default(3600),
    /**
     * Each thread's disk quota: bytes on disk and inodes of its workspace, private tmp dirs and venv together (see
     * quota/). Over it, runs, installs and uploads are refused (507) and running ones stopped.
     */
    THREAD_DISK_MB: int(1, 2 ** 24).default(4096),
    THREAD_INODES: int(100, 10_000_000).default(100_000),
    /**
     * Each thread's checkpoints (checkpoints/): how many it may keep, the bytes of their distinct file contents
     * together (content-addressed, so unchanged files count once), and the entries one checkpoint may record.
     */
    CHECKPOINT_MAX_COUNT: int(1, 10_000).default(20),
    CHECKPOINT_MAX_MB: int(1, 2 ** 24).default(4096),
    CHECKPOINT_MAX_FILES: int(1, 10_000_000).default(100_000),
    /**
     * Each tenant's package cache (STATE_DIR/pip-cache/<tenant>: pip's, uv's and its threads' Bun caches) is trimmed
     * to this size, least recently used entries first, by a sweep every UPKEEP_INTERVAL_S while nothing of the
     * tenant runs (quota/cache-upkeep.ts).
     */
    TENANT_CACHE_MB: int(1, 2 ** 24).default(4096),
    /** Unset: off. A thread's local venv is removed after this long without a call (rebuilt from pyproject.toml on the next). */
    VENV_IDLE_TTL_S: int(1, 365 * 86_400).optional(),
    UPKEEP_INTERVAL_S: int(1, 86_400).default(300),
    PYTHON_BIN: z.string().default("/usr/bin/python3"),
    PYTHON_MODE: z.enum(["venv", "system"]).default("venv"),
    PYTHON_INSTALLER: z.enum(["auto", "uv", "pip"]).default("auto"),
    PIP_INDEX_URL: z.url().optional(),
    PIP_EXTRA_INDEX_URL: z.url().optional(),
    /**
     * The npm registry sandboxes install from (`bun add`, `npm install`, POST …/packages with javascript), as
     * npm_config_registry and BUN_CONFIG_REGISTRY; allowed through the egress rules like PIP_INDEX_URL. Unset: npm's.
     */
    NPM_REGISTRY_URL: z.url().optional(),
    /**
     * Programs every sandbox sees read-only at /.tools (bin/ on PATH): scripts/setup.sh puts Bun there. Used only
     * when it exists, belongs to root or the runtime's uid and nobody else can write in it (sandbox/tools.ts).
     */
    TOOLS_DIR: absPath.default(path.join(REPO_ROOT, ".build/tools")),
    MAX_OUTPUT_BYTES: int(1024, 256 * 2 ** 20).default(2 ** 20),
    MAX_TIMEOUT_S: int(1, 3600).default(300),
    KILL_GRACE_MS: int(0, 60_000).default(2000),
    MAX_BODY_BYTES: int(1024, 2 ** 30).default(32 * 2 ** 20),
    MAX_FILE_READ_BYTES: int(1024, 2 ** 31).default(64 * 2 ** 20),
    CONTEXT_IDLE_S: int(10, 86_400).default(900),
    /** Background processes a thread may run at once. */
    PROCESS_MAX_PER_THREAD: int(1, 1024).default(8),
    /** A background process is stopped after this long (reason "lifetime"); at most 21 days (a Node timer's range). */
    PROCESS_LIFETIME_S: int(1, 21 * 86_400).default(86_400),
    /** Each process's retained log (stdout and stderr together): the oldest entries go first. */
    PROCESS_LOG_BYTES: int(4096, 64 * 2 ** 20).default(2 ** 20),
    /** A thread's virtual display (Xvfb) is stopped after this long without a run that asked for screenshots. */
    DISPLAY_IDLE_S: int(10, 86_400).default(600),
    DISPLAY_SCREEN: z.string().regex(/^\d{2,5}x\d{2,5}x(8|16|24)$/, "WIDTHxHEIGHTxDEPTH, e.g. 1280x800x24").default("1280x800x24"),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  })
  .superRefine((c, ctx) => {
    for (const p of storageProblems(c)) ctx.addIssue({ code: "custom", path: [p.path], message: p.message });
    if (c.ISOLATION === "none" && !c.ALLOW_UNSAFE_NONE_ISOLATION) {
      ctx.addIssue({
        code: "custom",
        path: ["ISOLATION"],
        message: "ISOLATION=none runs user code on the host; set ALLOW_UNSAFE_NONE_ISOLATION=1 to allow it in development",
      });
    }
    for (const [limit, max] of LIMIT_PAIRS) {
      const value = c[limit];
      if (value !== undefined && value > c[max]) ctx.addIssue({ code: "custom", path: [limit], message: `${limit} (${value}) is above ${max} (${c[max]})` });
    }
    for (const [ceiling, limit] of THREAD_CEILINGS) {
      const value = c[ceiling];
      if (value !== undefined && value < c[limit]) {
        ctx.addIssue({ code: "custom", path: [ceiling], message: `${ceiling} (${value}) is below ${limit} (${c[limit]}): one run with the defaults would not fit` });
      }
    }
    if (c.HMAC_SECRET === KNOWN_BAD_DEV_SECRET && c.NODE_ENV !== "development") {
      ctx.addIssue({
        code: "custom",
        path: ["HMAC_SECRET"],
        message:
          "is the development secret published in this repository, which anyone can sign with; use a random one " +
          "(openssl rand -hex 32), or set NODE_ENV=development to allow it on a development machine",
      });
    }
  });

export type RuntimeConfig = WithStorage<z.infer<typeof ConfigSchema>>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses the environment once at start-up; empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined>): RuntimeConfig {
  const keys = Object.keys(ConfigSchema.shape);
  const input = Object.fromEntries(keys.map((k) => [k, env[k] === "" ? undefined : env[k]]));
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid runtime configuration:\n${lines.join("\n")}`);
  }
  return withStorage(parsed.data, path.join(REPO_ROOT, ".data/r2/threadbox/threads"));
}
