import { z } from "zod";
import { ThreadIdSchema } from "./ids.ts";

/** Checkpoint ids: made by the runtime (`ck_` + 24 hex), also a safe file name in the thread's checkpoint store. */
export const CheckpointIdSchema = z.string().regex(/^ck_[a-f0-9]{24}$/, "a checkpoint id is ck_ and 24 hex digits");
export type CheckpointId = z.infer<typeof CheckpointIdSchema>;

const hex = (chars: number) => crypto.randomUUID().replaceAll("-", "").slice(0, chars);
/** The only place checkpoint ids are made. */
export const newCheckpointId = (): string => `ck_${hex(24)}`;

/** `POST /v1/threads/{thread}/checkpoints`. */
export const CreateCheckpointSchema = z.strictObject({
  label: z.string().max(200).optional(),
});

/** `POST /v1/threads/{thread}/checkpoints/{checkpoint}/restore`: nothing to say (the checkpoint is in the path). */
export const RestoreCheckpointSchema = z.strictObject({});

/** An entry the checkpoint left out, and why (a FIFO, socket or device is never read: it could hang or leak). */
export const SkippedEntrySchema = z.object({ path: z.string(), type: z.string() });

/** A checkpoint as the API shows it (its manifest of entries stays on the runtime). */
export const CheckpointSchema = z.object({
  id: CheckpointIdSchema,
  label: z.string().nullable(),
  created_at: z.string(),
  /** Bytes of the workspace's regular files at the time (what a restore writes back). */
  size_bytes: z.number().int().nonnegative(),
  /** Entries recorded: files, directories and symlinks. */
  files: z.number().int().nonnegative(),
  skipped: z.array(SkippedEntrySchema).default([]),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

/** `GET /v1/threads/{thread}/checkpoints`: newest last, and what the thread's checkpoints hold on disk together. */
export const CheckpointListSchema = z.object({
  checkpoints: z.array(CheckpointSchema),
  /** Bytes of the distinct file contents all checkpoints share (content-addressed: unchanged files count once). */
  stored_bytes: z.number().int().nonnegative(),
  limits: z.object({ count: z.number().int().positive(), bytes: z.number().int().positive() }),
});
export type CheckpointList = z.infer<typeof CheckpointListSchema>;

/** The `restore` result: what changed in the workspace. */
export const RestoreResultSchema = z.object({
  checkpoint: CheckpointIdSchema,
  files: z.number().int().nonnegative(),
  /** The restored pyproject.toml differed from the workspace's: the venv was rebuilt from it. */
  venv_rebuilt: z.boolean(),
});
export type RestoreResult = z.infer<typeof RestoreResultSchema>;

/** `from` of `POST /v1/threads`: fork another thread of the same tenant (at a checkpoint, or as it is now). */
export const ForkFromSchema = z.strictObject({ thread: ThreadIdSchema, checkpoint: CheckpointIdSchema.optional() });
export type ForkFrom = z.infer<typeof ForkFromSchema>;

/** The runtime's `POST /threads/{tenant}/{thread}/fork` body: the new thread's workspace starts as that checkpoint. */
export const RuntimeForkSchema = z.strictObject({ from_thread: ThreadIdSchema, checkpoint: CheckpointIdSchema });
