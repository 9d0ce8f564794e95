import { readFileSync } from "node:fs";

export interface MountEntry {
  mountPoint: string;
  fstype: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash in paths as octal (`\040`). */
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Parses /proc/self/mountinfo: `id parent dev root mountpoint options [tags...] - fstype source superoptions`. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-", 6);
    const mountPoint = fields[4];
    const fstype = fields[dash + 1];
    if (dash < 0 || mountPoint === undefined || fstype === undefined) continue;
    entries.push({ mountPoint: unescape(mountPoint), fstype, source: unescape(fields[dash + 2] ?? "") });
  }
  return entries;
}

/**
 * What is mounted at `dir` right now (the last mount stacked there wins), or null. It reads procfs, which never
 * blocks on a hung FUSE daemon, so it is safe on every request; a stat of the mount point would not be.
 */
export function findMount(dir: string): MountEntry | null {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return null;
  }
  return parseMountinfo(text).findLast((m) => m.mountPoint === dir) ?? null;
}
