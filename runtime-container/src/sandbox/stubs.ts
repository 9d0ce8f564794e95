import type { Dirent } from "node:fs";
import { readdir, readlink, rmdir, unlink } from "node:fs/promises";
import path from "node:path";

/**
 * proot and bwrap create a mount point in the workspace for every bind whose target is missing there (`/usr`,
 * `/proc`, `/workspace`, ...). They are the sandbox's, not the user's: this removes them after a run (and stale ones
 * before), so file listings and the bucket hold only the user's files. Only empty directories and our own
 * usr-merge symlinks are removed, never anything with content; and never while a tree of the workspace runs (see
 * StubKeeper).
 *
 * One listing of the workspace's top level per pass (not a stat per mount point), and the removals at once: this is
 * on the path of every run, before and after the sandboxed command.
 */
async function removeEntries(workspace: string, entries: Dirent[]): Promise<void> {
  await Promise.all(
    entries.map(async (entry) => {
      const p = path.join(workspace, entry.name);
      if (entry.isSymbolicLink()) {
        if ((await readlink(p).catch(() => "")).startsWith("usr/")) await unlink(p).catch(() => undefined);
      } else if (entry.isDirectory()) {
        await rmdir(p).catch(() => undefined); // ENOTEMPTY keeps a directory the user filled (ENOTDIR: swapped)
      }
    }),
  );
}

/** Removes the stubs among `names` (the benchmark's replay of the runtime's command cleans up with this too). */
export async function removeStubs(workspace: string, names: Iterable<string>): Promise<void> {
  await removeEntries(workspace, await present(workspace, new Set(names)));
}

/** The top-level entries of the workspace among `names`. */
async function present(workspace: string, names: Set<string>): Promise<Dirent[]> {
  const entries = await readdir(workspace, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => names.has(e.name));
}

const topName = (mountPoint: string) => mountPoint.replace(/^\//, "").split("/")[0] as string;

/** One workspace's trees (runs and contexts' interpreters) that are live or starting, and their stubs. */
interface WorkspaceStubs {
  live: number;
  /** The top-level names of every live tree's mount points. */
  names: Set<string>;
  /** Names the user's own (a directory with content when the first tree started): never removed. */
  kept: Set<string>;
  /** Removals, one after another; a tree starts only after those before it are done. */
  chain: Promise<void>;
}

/**
 * The stubs of each workspace, removed only while no tree of it runs. Under bwrap a stub is a mount point of every
 * live tree of the thread (a context's interpreter, another run): removing it makes the kernel detach that tree's
 * mounts there, and the tree then sees the workspace's own (thread-writable) directory as its `/usr`, `/etc` or
 * `/tmp`. So stale stubs are removed before the first tree starts, and the trees' stubs after the last one ends;
 * a tree starting meanwhile shares the stubs that are there. A start waits for a removal under way, so a removal
 * never runs beside a starting tree (which may be making its mount points).
 */
export class StubKeeper {
  private readonly workspaces = new Map<string, WorkspaceStubs>();

  /** A tree is about to start in `workspace` with these mount points; returns its end, to call once it has exited. */
  async enter(workspace: string, mountPoints: string[]): Promise<() => Promise<void>> {
    const names = new Set(mountPoints.map(topName));
    let st = this.workspaces.get(workspace);
    if (!st) {
      st = { live: 0, names: new Set(), kept: new Set(), chain: Promise.resolve() };
      this.workspaces.set(workspace, st);
    }
    const state = st;
    const first = state.live === 0;
    state.live++;
    for (const n of names) state.names.add(n);
    if (first) state.chain = state.chain.then(() => removeStale(workspace, names).then((kept) => void (state.kept = kept)));
    let ended: Promise<void> | null = null;
    const end = () => (ended ??= this.leave(workspace, state));
    try {
      await state.chain;
    } catch (err) {
      await end();
      throw err;
    }
    return end;
  }

  private leave(workspace: string, st: WorkspaceStubs): Promise<void> {
    st.live--;
    if (st.live > 0) return Promise.resolve();
    const names = [...st.names].filter((n) => !st.kept.has(n));
    st.names = new Set();
    const done = st.chain.catch(() => undefined).then(() => removeStubs(workspace, names));
    st.chain = done;
    void done.finally(() => {
      if (st.live === 0 && st.chain === done) this.workspaces.delete(workspace);
    });
    return done;
  }
}

/** Stale stubs removed (what a run of a runtime that died left); returns the names the user's (still there). */
async function removeStale(workspace: string, names: Set<string>): Promise<Set<string>> {
  const stale = await present(workspace, names);
  if (stale.length === 0) return new Set();
  await removeEntries(workspace, stale);
  // What is still there after the removal is the user's (a directory with content): never the trees' to remove.
  return new Set((await present(workspace, names)).map((e) => e.name));
}
