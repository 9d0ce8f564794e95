import { z } from "zod";
import { CheckpointIdSchema, SkippedEntrySchema } from "../../../shared/src/index.ts";

/**
 * One entry of a checkpoint, in walk order (a directory before what it holds). Regular files name their content by
 * SHA-256 (the blob in the thread's store); symlinks keep their target as text (never resolved); modes are the
 * permission bits only (a set-id bit is never restored: the runtime writes as root, X16).
 */
export const ManifestEntrySchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("dir"), path: z.string(), mode: z.number().int() }),
  z.object({
    type: z.literal("file"),
    path: z.string(),
    mode: z.number().int(),
    size: z.number().int().nonnegative(),
    mtime_ms: z.number(),
    hash: z.string().regex(/^[a-f0-9]{64}$/),
    /** What the next checkpoint compares to reuse the hash without reading the file again (snapshot.ts). */
    ino: z.number().optional(),
    ctime_ms: z.number().optional(),
  }),
  z.object({ type: z.literal("symlink"), path: z.string(), target: z.string() }),
]);
export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;

/** A checkpoint's manifest file (`manifests/<id>.json` in the thread's store), written last: its presence is the checkpoint. */
export const ManifestSchema = z.object({
  version: z.literal(1),
  id: CheckpointIdSchema,
  label: z.string().nullable(),
  created_at: z.string(),
  size_bytes: z.number().int().nonnegative(),
  skipped: z.array(SkippedEntrySchema),
  entries: z.array(ManifestEntrySchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** The manifest as the API shows it. */
export function summary(m: Manifest) {
  return { id: m.id, label: m.label, created_at: m.created_at, size_bytes: m.size_bytes, files: m.entries.length, skipped: m.skipped };
}
