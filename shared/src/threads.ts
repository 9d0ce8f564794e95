import { z } from "zod";
import { ContextInfoSchema } from "./contexts.ts";
import { NetworkPolicySchema, NetworkPolicyViewSchema } from "./egress.ts";
import { ImportPolicySchema } from "./import-policy.ts";
import { ThreadMountsSchema } from "./mounts.ts";

/** `none`: the thread's programs (package installs included) run without any network, in their own net namespace. */
export const NetworkModeSchema = z.enum(["default", "none"]);
export type NetworkMode = z.infer<typeof NetworkModeSchema>;

/** A thread's `network`: a mode, or an egress policy (egress.ts). */
export const NetworkSettingSchema = z.union([NetworkModeSchema, NetworkPolicySchema]);
export type NetworkSetting = z.infer<typeof NetworkSettingSchema>;

/**
 * The runtime's `POST /threads/:tenant/:thread` body (optional): settings kept with the thread on that runtime.
 * `import_policy` is the one in force (tenant's and thread's combined); null or absent: none.
 */
/** A policy's secrets come sealed in their own header (egress-seal.ts), never in this body. */
export const ThreadSetupSchema = z.strictObject({
  network: z.union([NetworkModeSchema, NetworkPolicyViewSchema]).optional(),
  import_policy: ImportPolicySchema.nullable().optional(),
  /** The tenant's read-only mounts the thread sees (mounts.ts); each must exist on the runtime's storage. */
  mounts: ThreadMountsSchema.optional(),
});
export type ThreadSetup = z.infer<typeof ThreadSetupSchema>;

/** Usage against a quota: bytes on disk (st_blocks) and inodes. */
export const DiskCountsSchema = z.object({ bytes: z.number().int().nonnegative(), inodes: z.number().int().nonnegative() });

/** A thread's disk use on its runtime (workspace, private /tmp, venv) against its quota. */
export const DiskUsageSchema = DiskCountsSchema.extend({
  quota_bytes: z.number().int().positive(),
  quota_inodes: z.number().int().positive(),
  over_quota: z.boolean(),
  /** False when the walk stopped early (over the inode quota, or nested too deep): the counts are a lower bound. */
  complete: z.boolean(),
  parts: z.object({ workspace: DiskCountsSchema, tmp: DiskCountsSchema, venv: DiskCountsSchema }),
  measured_at: z.string(),
});
export type DiskUsage = z.infer<typeof DiskUsageSchema>;

/** Sums over threads: how many were measured, and how many of them are over their quota. */
const DiskTotalsSchema = DiskCountsSchema.extend({ threads: z.number().int().nonnegative(), over_quota: z.number().int().nonnegative() });

/** `/health` → disk: the threads this runtime measured since it started (their last walk), in all and per tenant. */
export const RuntimeDiskSchema = z.object({
  quota: z.object({ bytes: z.number().int().positive(), inodes: z.number().int().positive() }),
  total: DiskTotalsSchema,
  tenants: z.record(z.string(), DiskTotalsSchema),
});
export type RuntimeDisk = z.infer<typeof RuntimeDiskSchema>;

/** `/health` → caches: a tenant's package cache (shared by its threads) as the last sweep found it. */
export const TenantCacheReportSchema = z.object({
  bytes: z.number().int().nonnegative(),
  inodes: z.number().int().nonnegative(),
  /** What that sweep removed to bring the cache under its cap (least recently used first). */
  evicted_entries: z.number().int().nonnegative(),
  evicted_bytes: z.number().int().nonnegative(),
  /** The sweep stopped at its entry budget: the counts are a lower bound. */
  truncated: z.boolean(),
  measured_at: z.string(),
});
export type TenantCacheReport = z.infer<typeof TenantCacheReportSchema>;
export const RuntimeCachesSchema = z.object({ cap_bytes: z.number().int().positive(), tenants: z.record(z.string(), TenantCacheReportSchema) });

export const WorkspaceInfoSchema = z.object({
  configured: z.boolean(),
  python_version: z.string().nullable(),
  virtual_env: z.string().nullable(),
  packages: z.array(z.string()),
  /** What `options.python_cmd` may name: the runtime's system interpreters. */
  interpreters: z.array(z.string()),
  configured_at: z.string().nullable(),
  /** The thread's stateful contexts on its runtime, each with its memory (`rss_bytes`). */
  contexts: z.array(ContextInfoSchema).default([]),
  disk: DiskUsageSchema.optional(),
  /** Terminal WebSockets open now on the thread's runtime. */
  terminals: z.number().int().nonnegative().optional(),
  /**
   * The terminals the worker named, open (`ended_at: null`) and the last 20 ended, with when they ended: the thread's
   * object records their ends in its history from this (worker/src/do/thread-terminals.ts).
   */
  terminal_sessions: z.array(z.object({ id: z.string(), ended_at: z.string().nullable() })).optional(),
});
export type WorkspaceInfo = z.infer<typeof WorkspaceInfoSchema>;

export const RuntimeHealthSchema = z.object({
  ok: z.boolean(),
  version: z.string(),
  isolation: z.string(),
  python: z.string().nullable(),
  uptime_s: z.number(),
  running_executions: z.number().int().nonnegative(),
  /** A required isolation layer is missing and ALLOW_DEGRADED_ISOLATION let the runtime start anyway. */
  degraded: z.boolean().optional(),
  missing_layers: z.array(z.string()).optional(),
  disk: RuntimeDiskSchema.optional(),
  caches: RuntimeCachesSchema.optional(),
});
export type RuntimeHealth = z.infer<typeof RuntimeHealthSchema>;
