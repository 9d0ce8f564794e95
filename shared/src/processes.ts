import { z } from "zod";
import { EnvSchema, GuestDirSchema, RunLimitsSchema } from "./exec.ts";

/** Background processes (issue 19): a run with no timeout but a lifetime cap, its logs kept in a bounded ring. */
export const StartProcessSchema = z.strictObject({
  /** A shell command (`bash -c`), as for exec. */
  command: z.string().min(1).max(100_000),
  cwd: GuestDirSchema.optional(),
  env: EnvSchema.optional(),
  limits: RunLimitsSchema.optional(),
  /** A label for people; not unique. */
  name: z.string().min(1).max(128).optional(),
});
export type StartProcess = z.infer<typeof StartProcessSchema>;

export const ProcessIdSchema = z.string().regex(/^proc_[A-Za-z0-9]{1,40}$/, "a process id looks like proc_…");

export const ProcessStatusSchema = z.enum(["running", "exited", "killed", "lost"]);
export type ProcessStatus = z.infer<typeof ProcessStatusSchema>;

/**
 * Why a process ended when it did not exit by itself: `stopped` (DELETE), `lifetime` (its lifetime cap),
 * `released` (the thread was released or deleted), `disk_quota`, `storage_lost` (the runtime lost its storage), `runtime_restart` (lost with its runtime).
 */
export const ProcessReasonSchema = z.enum(["stopped", "lifetime", "released", "disk_quota", "storage_lost", "runtime_restart"]);
export type ProcessReason = z.infer<typeof ProcessReasonSchema>;

export const ProcessInfoSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  command: z.string(),
  status: ProcessStatusSchema,
  /** Set once it has ended (null while running, and for a lost process). */
  exit_code: z.number().int().nullable(),
  reason: ProcessReasonSchema.nullable(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  /** The seq of the last log entry (-1: none yet): `?after=` resumes from there. */
  last_seq: z.number().int(),
});
export type ProcessInfo = z.infer<typeof ProcessInfoSchema>;

/** One log entry; `seq` counts from 0 for the process's life, entries the ring dropped leave a gap. */
export const ProcessLogEntrySchema = z.object({
  seq: z.number().int(),
  stream: z.enum(["stdout", "stderr"]),
  text: z.string(),
});
export type ProcessLogEntry = z.infer<typeof ProcessLogEntrySchema>;

/**
 * One message of a log stream: an entry; a `gap` first when the ring dropped entries after the requested seq (the
 * oldest kept is `dropped_before`); `end` with the process's info once it has ended.
 */
export const ProcessLogMessageSchema = z.discriminatedUnion("type", [
  ProcessLogEntrySchema.extend({ type: z.literal("log") }),
  z.object({ type: z.literal("gap"), dropped_before: z.number().int() }),
  z.object({ type: z.literal("end"), process: ProcessInfoSchema }),
]);
export type ProcessLogMessage = z.infer<typeof ProcessLogMessageSchema>;

export const ProcessStdinSchema = z.strictObject({
  /** Text written to the process's stdin as UTF-8. */
  data: z.string().max(1_048_576),
  /** Close stdin after writing (EOF). */
  eof: z.boolean().optional(),
});
export type ProcessStdin = z.infer<typeof ProcessStdinSchema>;

export const ProcessWaitSchema = z
  .strictObject({
    /** Wait until a process of its tree listens on this TCP port (inside the sandbox's network). */
    port: z.number().int().min(1).max(65_535).optional(),
    /** Wait until a line of its output contains this text (a literal substring, not a regular expression). */
    log_pattern: z.string().min(1).max(1024).optional(),
    /** Seconds, 1–300 (default 30). */
    timeout: z.number().int().min(1).max(300).default(30),
  })
  .refine((w) => !(w.port !== undefined && w.log_pattern !== undefined), "give port or log_pattern, not both");
export type ProcessWait = z.infer<typeof ProcessWaitSchema>;

/** What a wait saw first: `port`/`log` (ready), `exited` (the process ended first), `timeout`. */
export const ProcessWaitResultSchema = z.object({
  outcome: z.enum(["port", "log", "exited", "timeout"]),
  process: ProcessInfoSchema,
  /** The matching line, for `log`. */
  line: z.string().optional(),
});
export type ProcessWaitResult = z.infer<typeof ProcessWaitResultSchema>;
