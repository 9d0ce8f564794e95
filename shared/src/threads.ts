import { z } from "zod";
import { ContextInfoSchema } from "./contexts.ts";

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
});
export type RuntimeHealth = z.infer<typeof RuntimeHealthSchema>;
