import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { LOCAL_DEV_SECRET } from "../../shared/src/index.ts";

/** The repository root, for defaults that point into it (the seccomp helper built by scripts/setup.sh). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DEV_SECRET = LOCAL_DEV_SECRET;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(["1", "0", "true", "false", "yes", "no"]).transform((v) => ["1", "true", "yes"].includes(v));
const absPath = z.string().min(1).transform((p) => path.resolve(p));

const ConfigSchema = z
  .object({
    HOST: z.string().default("127.0.0.1"),
    PORT: int(0, 65_535).default(8788),
    NODE_ENV: z.string().default("development"),
    HMAC_SECRET: z.string().min(16, "HMAC_SECRET must be at least 16 characters").default(DEV_SECRET),
    WORKSPACES_ROOT: absPath.default(path.join(REPO_ROOT, ".data/r2/threadbox/threads")),
    STATE_DIR: absPath.default(path.join(REPO_ROOT, ".data/runtime")),
    ISOLATION: z.enum(["proot", "bwrap", "none"]).default("proot"),
    ALLOW_UNSAFE_NONE_ISOLATION: bool.default(false),
    PROOT_BIN: z.string().default("proot"),
    BWRAP_BIN: z.string().default("bwrap"),
    SECCOMP_HELPER: z.string().default(path.join(REPO_ROOT, ".build/seccomp-exec")),
    SANDBOX_UID: int(1, 2 ** 31).default(65534),
    SANDBOX_GID: int(1, 2 ** 31).default(65534),
    PID_NAMESPACE: z.enum(["auto", "on", "off"]).default("auto"),
    PYTHON_BIN: z.string().default("/usr/bin/python3"),
    PYTHON_MODE: z.enum(["venv", "system"]).default("venv"),
    PYTHON_INSTALLER: z.enum(["auto", "uv", "pip"]).default("auto"),
    PIP_INDEX_URL: z.url().optional(),
    PIP_EXTRA_INDEX_URL: z.url().optional(),
    MAX_OUTPUT_BYTES: int(1024, 256 * 2 ** 20).default(2 ** 20),
    MAX_TIMEOUT_S: int(1, 3600).default(300),
    KILL_GRACE_MS: int(0, 60_000).default(2000),
    MAX_BODY_BYTES: int(1024, 2 ** 30).default(32 * 2 ** 20),
    MAX_FILE_READ_BYTES: int(1024, 2 ** 31).default(64 * 2 ** 20),
    CONTEXT_IDLE_S: int(10, 86_400).default(900),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  })
  .superRefine((c, ctx) => {
    if (c.ISOLATION === "none" && !c.ALLOW_UNSAFE_NONE_ISOLATION) {
      ctx.addIssue({
        code: "custom",
        path: ["ISOLATION"],
        message: "ISOLATION=none runs user code on the host; set ALLOW_UNSAFE_NONE_ISOLATION=1 to allow it in development",
      });
    }
    if (c.NODE_ENV === "production" && c.HMAC_SECRET === DEV_SECRET) {
      ctx.addIssue({ code: "custom", path: ["HMAC_SECRET"], message: "set HMAC_SECRET in production" });
    }
  });

export type RuntimeConfig = z.infer<typeof ConfigSchema>;
export const DEFAULT_DEV_SECRET = DEV_SECRET;

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
  return parsed.data;
}
