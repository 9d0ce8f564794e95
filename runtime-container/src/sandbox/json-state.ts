import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import path from "node:path";
import type { z } from "zod";

/**
 * Small JSON records the runtime keeps in STATE_DIR (root-only, never visible to a sandbox). Synchronous on
 * purpose: a record changes at most once per new thread, and a synchronous write cannot interleave with another
 * allocation in this process. A missing file is `empty`; an unreadable one is an error (never silently reset:
 * that could hand out an id twice).
 */
export function readJsonState<T>(file: string, schema: z.ZodType<T>, empty: T): T {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return empty;
    throw err;
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file} is corrupt: ${parsed.error.message}`);
  return parsed.data;
}

/** Write-then-rename with fsync, so a crash leaves the old record or the new one, never half of one. */
export function writeJsonState(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(value)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
