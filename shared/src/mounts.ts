import { z } from "zod";

/** A tenant's read-only file set (skills, a ticket's attachments): one safe path segment, lowercase. */
export const MountNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "a mount name is 1-63 of a-z 0-9 . _ -, starting with a letter or digit");

/**
 * Guest directories a mount may appear under: each a top-level directory of the sandbox that is neither the
 * workspace's files' usual home nor a system directory, so a mount never hides /usr, /etc, /tmp or /workspace.
 */
export const MOUNT_GUEST_PREFIXES = ["/.skills", "/.mounts", "/mnt"] as const;
/** One mount point below a prefix: `/.skills/<segment>`. */
const GUEST_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const MAX_THREAD_MOUNTS = 16;

/** Why `guest` cannot be a mount point; null when it can. */
export function mountPathProblem(guest: string): string | null {
  if (!guest.startsWith("/")) return `mount path ${JSON.stringify(guest)} must be absolute`;
  const parts = guest.split("/").slice(1);
  if (parts.some((p) => p === ".." || p === "." || p === "")) return `mount path ${JSON.stringify(guest)} must be normalized (no "..", "." or "//")`;
  const prefix = `/${parts[0]}`;
  if (!(MOUNT_GUEST_PREFIXES as readonly string[]).includes(prefix) || parts.length !== 2 || !GUEST_SEGMENT.test(parts[1] ?? "")) {
    return `mount path ${JSON.stringify(guest)} must be one directory directly under ${MOUNT_GUEST_PREFIXES.join(", ")} (e.g. /.skills/<name>)`;
  }
  return null;
}

export const ThreadMountSchema = z.strictObject({
  name: MountNameSchema,
  /** Where the thread's programs see it, read-only; default `/.skills/<name>`. */
  path: z.string().max(128).optional(),
});

/** A thread's mounts, resolved: every one with its guest path, none twice at one path. */
export const ThreadMountsSchema = z
  .array(ThreadMountSchema)
  .max(MAX_THREAD_MOUNTS)
  .transform((mounts, ctx) => {
    const resolved = mounts.map((m) => ({ name: m.name, path: m.path ?? `/.skills/${m.name}` }));
    const seen = new Set<string>();
    for (const [i, m] of resolved.entries()) {
      const problem = mountPathProblem(m.path);
      if (problem) ctx.addIssue({ code: "custom", message: problem, path: [i, "path"] });
      if (seen.has(m.path)) ctx.addIssue({ code: "custom", message: `two mounts at ${m.path}`, path: [i, "path"] });
      seen.add(m.path);
    }
    return resolved;
  });
export type ThreadMount = { name: string; path: string };

/** `GET /v1/mounts`: the tenant's mounts with their size. */
export const MountSummarySchema = z.object({
  name: z.string(),
  files: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
export type MountSummary = z.infer<typeof MountSummarySchema>;
export const MountListSchema = z.object({ mounts: z.array(MountSummarySchema) });
