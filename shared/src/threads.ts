import { z } from "zod";
import { ContextInfoSchema } from "./contexts.ts";

/** `none`: the thread's programs (package installs included) run without any network, in their own net namespace. */
export const NetworkModeSchema = z.enum(["default", "none"]);
export type NetworkMode = z.infer<typeof NetworkModeSchema>;

/** The runtime's `POST /threads/:tenant/:thread` body (optional): settings kept with the thread on that runtime. */
export const ThreadSetupSchema = z.strictObject({ network: NetworkModeSchema.optional() });
export type ThreadSetup = z.infer<typeof ThreadSetupSchema>;

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
});
export type RuntimeHealth = z.infer<typeof RuntimeHealthSchema>;
