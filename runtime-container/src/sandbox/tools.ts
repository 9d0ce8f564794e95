import { lstatSync, readdirSync } from "node:fs";
import path from "node:path";

/**
 * Programs the runtime adds to every sandbox, read-only, at this guest path (its `bin/` goes on PATH): locally, Bun
 * as scripts/setup.sh puts it in .build/tools (the image has Bun under /usr/local/bin, which every sandbox sees).
 * Only this one host directory is bound, never its parents or the rest of the repository.
 */
export const GUEST_TOOLS = "/.tools";

/** Where Bun is in a sandbox without tools of the runtime's own: the image's place and Debian's. */
const SYSTEM_BUN = ["/usr/local/bin/bun", "/usr/bin/bun"];

export interface Tools {
  /** The host directory bound at GUEST_TOOLS; null: none (missing, or refused, see `problem`). */
  dir: string | null;
  /** Why a configured directory is not bound. */
  problem: string | null;
}

/**
 * TOOLS_DIR, if it can be shown to sandboxes: a directory whose every entry (two levels: `bin/` and what is in it)
 * belongs to root or the runtime's uid and is writable by nobody else. Under proot the bind is as-is, so a sandbox that could
 * write there would change the programs of every other thread. Its parents must let other uids pass (the backends
 * run as the thread's uid): the start-up self-test of the backend does not cover this, so `bun --version` in a test
 * does (test/runtime/bun.test.ts).
 */
export function findTools(dir: string | undefined): Tools {
  if (!dir) return { dir: null, problem: null };
  const top = lstatSync(dir, { throwIfNoEntry: false });
  if (!top) return { dir: null, problem: null };
  const uid = process.getuid?.() ?? 0;
  const bad = (p: string): string | null => {
    const st = lstatSync(p);
    if (!st.isDirectory() && !st.isFile() && !st.isSymbolicLink()) return `${p} is not a file, directory or link`;
    if (st.uid !== uid && st.uid !== 0) return `${p} belongs to uid ${st.uid}, neither root nor the runtime's (${uid})`;
    if (!st.isSymbolicLink() && (st.mode & 0o022) !== 0) return `${p} is writable by group or others`;
    return null;
  };
  const entries = (d: string) => readdirSync(d).map((n) => path.join(d, n));
  if (!top.isDirectory()) return { dir: null, problem: `${dir} is not a directory` };
  for (const p of [dir, ...entries(dir)]) {
    const problem = bad(p) ?? (p !== dir && lstatSync(p).isDirectory() ? (entries(p).map(bad).find((x) => x !== null) ?? null) : null);
    if (problem) return { dir: null, problem };
  }
  return { dir, problem: null };
}

/** The guest command for Bun, when this runtime's sandboxes have it: from the tools dir, or the system's. */
export function bunCommand(tools: Tools, exists: (p: string) => boolean): string | null {
  if (tools.dir && exists(path.join(tools.dir, "bin", "bun"))) return "bun";
  return SYSTEM_BUN.find(exists) ?? null;
}
