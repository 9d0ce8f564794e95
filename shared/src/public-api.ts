import { z } from "zod";
import { HistoryKindSchema } from "./execution-kinds.ts";
import { ThreadIdSchema } from "./ids.ts";
import { ImportPolicySchema } from "./import-policy.ts";
import { ForkFromSchema } from "./checkpoints.ts";
import { NetworkPolicyViewSchema } from "./egress.ts";
import { ThreadMountsSchema } from "./mounts.ts";
import { ProcessInfoSchema } from "./processes.ts";
import { NetworkSettingSchema, WorkspaceInfoSchema } from "./threads.ts";

/** Public API bodies and answers (the worker's `/v1`), beyond the execution requests shared with the runtime. */

export const CreateThreadSchema = z.strictObject({
  id: ThreadIdSchema.optional(),
  /** "default", "none", or an egress policy `{allow, deny?, secrets?}` (egress.ts; README "Egress policy"). */
  network: NetworkSettingSchema.default("default"),
  /** Python modules the thread's code may (not) import; combined with the deployment's IMPORT_POLICY for its tenant. */
  import_policy: ImportPolicySchema.optional(),
  /** The tenant's read-only mounts (`/v1/mounts`) the thread sees, e.g. `[{name: "pdf", path: "/.skills/pdf"}]`. */
  mounts: ThreadMountsSchema.optional(),
  /** Fork: the new thread's workspace starts as a checkpoint of another thread of the tenant (or as it is now). */
  from: ForkFromSchema.optional(),
});

export const TokenRequestSchema = z.strictObject({
  /** An existing thread: the token is bound to this incarnation of it. */
  thread: ThreadIdSchema,
  /** seconds; a browser token should live minutes, not days */
  ttl_seconds: z.number().int().min(60).max(86_400).default(900),
  /** Whether the token may delete its thread (workspace and history); without it only an API key can. */
  can_delete: z.boolean().default(false),
});
export const TokenResponseSchema = z.object({ token: z.string(), thread: z.string(), expires_at: z.string(), can_delete: z.boolean() });
export const RevokedSchema = z.object({ revoked: z.literal(true), thread: z.string().optional() });

export const ExecutionStatusSchema = z.enum(["queued", "running", "succeeded", "failed", "cancelled", "error"]);
export type ExecutionStatus = z.infer<typeof ExecutionStatusSchema>;
/**
 * A history record's status: an execution's, or a process's (`running`, `exited`, `killed`, `lost`) or a terminal's
 * (`running`, `closed`, `lost`: it ended unseen, e.g. its runtime restarted).
 */
export const HistoryStatusSchema = z.enum([...ExecutionStatusSchema.options, "exited", "killed", "lost", "closed"]);
export type HistoryStatus = z.infer<typeof HistoryStatusSchema>;

/** One record of the thread's history: an execution, or a background process (`kind: "process"`) or terminal (`"terminal"`). */
export const ExecutionRecordSchema = z.object({
  id: z.string(),
  kind: HistoryKindSchema,
  status: HistoryStatusSchema,
  /** A short description of the request: the command, or the first line of code. */
  summary: z.string(),
  exit_code: z.number().int().nullable(),
  error_code: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  stdout_tail: z.string(),
  stderr_tail: z.string(),
  /** Highest stored event seq; resume with `?after=`. */
  last_seq: z.number().int(),
  /** Events beyond the stored bound were dropped from the log (the result is always kept). */
  events_truncated: z.boolean(),
});
export type ExecutionRecord = z.infer<typeof ExecutionRecordSchema>;

export const ThreadStateSchema = z.object({
  id: z.string(),
  created_at: z.string(),
  last_active_at: z.string(),
  /** The runtime serving the thread, by its position in RUNTIME_URL (null: no longer configured; it moves on its next call). */
  runtime: z.object({ index: z.number().int().nullable(), placed_at: z.string() }),
  workspace: WorkspaceInfoSchema.nullable(),
  /** The import policy in force for the thread (its own and its tenant's combined); absent: none. */
  import_policy: ImportPolicySchema.optional(),
  /** The read-only mounts the thread sees (its own and its tenant's DEFAULT_MOUNTS); absent: none. */
  mounts: z.array(z.object({ name: z.string(), path: z.string() })).optional(),
  /** The thread's egress policy, when it has one: secrets by host and header only, never their values. */
  network: NetworkPolicyViewSchema.optional(),
  counts: z.object({ executions: z.number().int(), running: z.number().int(), queued: z.number().int() }),
  /** Ports with an active preview URL (POST /v1/threads/:thread/ports), and until when. */
  exposed_ports: z.array(z.object({ port: z.number().int(), expires_at: z.string() })).optional(),
  /** Its background processes as the thread last heard of them: the running ones and those that ended lately. */
  processes: z.array(ProcessInfoSchema).optional(),
  /** Its terminals open now, as its object recorded them (their ids are history records of kind `terminal`); absent: none. */
  open_terminals: z.array(z.object({ id: z.string(), started_at: z.string() })).optional(),
});
export type ThreadState = z.infer<typeof ThreadStateSchema>;

export const AfterQuerySchema = z.object({ after: z.coerce.number().int().min(-1).default(-1) });

