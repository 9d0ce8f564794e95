import { z } from "zod";
import { AppError, ErrorCode, type ImportPolicy, ImportPolicySchema } from "../../shared/src/index.ts";
import { type DefaultMounts, parseDefaultMounts } from "./default-mounts.ts";
import { jsonSetting } from "./json-setting.ts";

const ConfigSchema = z
  .object({
    RUNTIME_URL: z.string().min(1),
    HMAC_SECRET: z.string().min(16, "HMAC_SECRET must be at least 16 characters"),
    QUEUE_MAX: z.coerce.number().int().min(0).max(1000).default(8),
    IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(10).max(86_400).default(600),
    MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(100 * 2 ** 20).default(32 * 2 ** 20),
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1200),
    RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(200),
    /** Each thread token's own bucket, under its tenant's ceiling (RATE_LIMIT_*): one browser cannot starve the rest. */
    TOKEN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(300),
    TOKEN_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(50),
    /** Unauthenticated routes (health, the OpenAPI document), per client address. */
    OPEN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(300),
    OPEN_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(60),
    /** Browser origins allowed to call the API cross-origin (cors.ts): exact origins, comma-separated. */
    CORS_ORIGINS: z.string().default("").transform(corsOrigins),
    /** The deployment's Python import policies (importPolicies): JSON, empty for none. */
    IMPORT_POLICY: z.string().default("").transform(importPolicies),
    /** Read-only mounts every new thread gets, per tenant or by default (default-mounts.ts): JSON, empty for none. */
    DEFAULT_MOUNTS: z.string().default("").transform(parseDefaultMounts),
    /**
     * Where preview URLs point (an origin routed to this worker, e.g. https://preview.example.com); empty: the
     * origin of the request that exposed the port.
     */
    PREVIEW_BASE_URL: z.union([z.literal(""), z.url()]).default(""),
  })
  // The limiter keeps buckets in memory (ratelimit/rate-limiter.ts): a bucket must refill within a minute.
  .superRefine((c, ctx) => {
    for (const prefix of ["", "TOKEN_", "OPEN_"] as const) {
      if (c[`${prefix}RATE_LIMIT_BURST`] > c[`${prefix}RATE_LIMIT_PER_MINUTE`]) {
        ctx.addIssue({ code: "custom", path: [`${prefix}RATE_LIMIT_BURST`], message: `must not exceed ${prefix}RATE_LIMIT_PER_MINUTE` });
      }
    }
  });

/**
 * CORS_ORIGINS: `https://app.example.com,http://localhost:5173`, each exactly an origin (scheme, host, port; no
 * path, no wildcard). A pattern or `*` would hand thread tokens' reach to origins nobody listed, so it is refused.
 */
function corsOrigins(raw: string, ctx: z.RefinementCtx): string[] {
  const origins: string[] = [];
  for (const entry of raw.split(",").map((o) => o.trim()).filter((o) => o !== "")) {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    // `new URL` takes `https://*.example.com` as a host name: a wildcard is refused here, by name.
    if (!url || !["http:", "https:"].includes(url.protocol) || url.origin !== entry.replace(/\/$/, "") || entry.includes("*")) {
      ctx.addIssue({ code: "custom", message: `"${entry}" is not an origin like https://app.example.com (scheme://host[:port], no path or wildcard)` });
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
}

const ImportPoliciesSchema = z.strictObject({
  /** Every tenant's, unless `tenants` names it. */
  default: ImportPolicySchema.optional(),
  /** A tenant's own, in place of the default. */
  tenants: z.record(z.string(), ImportPolicySchema).default({}),
});
export type ImportPolicies = z.infer<typeof ImportPoliciesSchema>;

/**
 * IMPORT_POLICY: `{"default": {"deny": ["requests"]}, "tenants": {"acme": {"allow": ["numpy", "pandas"]}}}`. A new
 * thread's policy is its tenant's combined with its own (shared/src/import-policy.ts); it is fixed at creation.
 */
function importPolicies(raw: string, ctx: z.RefinementCtx): ImportPolicies {
  return jsonSetting(ImportPoliciesSchema, { tenants: {} })(raw, ctx);
}

/** The deployment's import policy for one tenant (undefined: none). */
export function tenantImportPolicy(policies: ImportPolicies, tenant: string): ImportPolicy | undefined {
  return Object.hasOwn(policies.tenants, tenant) ? policies.tenants[tenant] : policies.default;
}

/** RUNTIME_URL: one URL, or several separated by commas. */
function runtimeUrls(raw: string): string[] {
  return raw
    .split(",")
    .map((u) => u.trim().replace(/\/+$/, ""))
    .filter((u) => u !== "");
}

export interface WorkerConfig {
  runtimeUrls: string[];
  hmacSecret: string;
  queueMax: number;
  idleTimeoutMs: number;
  maxBodyBytes: number;
  /** Per API key (and per tenant for thread tokens): a token bucket of `burst`, refilled at `perMinute`. */
  rateLimit: { perMinute: number; burst: number };
  /** Per thread token, under its tenant's `rateLimit`. */
  tokenRateLimit: { perMinute: number; burst: number };
  /** Per client address on the routes that need no credentials. */
  openRateLimit: { perMinute: number; burst: number };
  /** Origins whose pages may call the API from a browser (besides the worker's own). */
  corsOrigins: string[];
  /** IMPORT_POLICY: the deployment's Python import policies, per tenant or by default. */
  importPolicies: ImportPolicies;
  /** DEFAULT_MOUNTS: read-only mounts new threads get, per tenant or by default. */
  defaultMounts: DefaultMounts;
  /** PREVIEW_BASE_URL without a trailing slash; "" for the exposing request's own origin. */
  previewBaseUrl: string;
}

const cache = new WeakMap<object, WorkerConfig>();

/** The worker's vars and secrets, validated once per isolate; a misconfiguration is a clear 500, not a crash. */
export function workerConfig(env: Env): WorkerConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new AppError(ErrorCode.INTERNAL_ERROR, `worker configuration is invalid: ${fields}`);
  }
  const urls = runtimeUrls(parsed.data.RUNTIME_URL);
  if (urls.length === 0) throw new AppError(ErrorCode.INTERNAL_ERROR, "RUNTIME_URL names no runtime");
  const config = {
    runtimeUrls: urls,
    hmacSecret: parsed.data.HMAC_SECRET,
    queueMax: parsed.data.QUEUE_MAX,
    idleTimeoutMs: parsed.data.IDLE_TIMEOUT_SECONDS * 1000,
    maxBodyBytes: parsed.data.MAX_BODY_BYTES,
    rateLimit: { perMinute: parsed.data.RATE_LIMIT_PER_MINUTE, burst: parsed.data.RATE_LIMIT_BURST },
    tokenRateLimit: { perMinute: parsed.data.TOKEN_RATE_LIMIT_PER_MINUTE, burst: parsed.data.TOKEN_RATE_LIMIT_BURST },
    openRateLimit: { perMinute: parsed.data.OPEN_RATE_LIMIT_PER_MINUTE, burst: parsed.data.OPEN_RATE_LIMIT_BURST },
    corsOrigins: parsed.data.CORS_ORIGINS,
    importPolicies: parsed.data.IMPORT_POLICY,
    defaultMounts: parsed.data.DEFAULT_MOUNTS,
    previewBaseUrl: parsed.data.PREVIEW_BASE_URL.replace(/\/+$/, ""),
  };
  cache.set(env, config);
  return config;
}
