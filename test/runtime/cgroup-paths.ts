import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/**
 * Where a process is in the host's cgroup hierarchies, read from outside (the host's /proc), as the tests check the
 * runtime's groups: a run's group and its limits, and that nothing of it is left.
 */
const read = (file: string) => readFile(file, "utf8").catch(() => "");

/** The v1 mount point of each controller the runtime uses (this host is hybrid: v1 memory, pids and cpu). */
const V1 = { memory: "/sys/fs/cgroup/memory", pids: "/sys/fs/cgroup/pids", cpu: "/sys/fs/cgroup/cpu" } as const;
export type Controller = keyof typeof V1;

/** The host directory of `pid`'s group in a controller's hierarchy, or null (gone, or not in that hierarchy). */
export async function groupOf(pid: number, controller: Controller): Promise<string | null> {
  for (const line of (await read(`/proc/${pid}/cgroup`)).split("\n")) {
    const [, controllers, rel] = line.split(":", 3) as [string, string?, string?];
    if (controllers?.split(",").includes(controller) && rel !== undefined) return path.join(V1[controller], rel);
  }
  return null;
}

/** The runtime's root group in a controller's hierarchy: `threadbox-<first uid>` inside the runtime's own group. */
export async function runtimeRoot(runtimePid: number, firstUid: number, controller: Controller): Promise<string> {
  const own = await groupOf(runtimePid, controller);
  if (!own) throw new Error(`the runtime (pid ${runtimePid}) is in no ${controller} group`);
  return path.join(own, `threadbox-${firstUid}`);
}

/** Sub-directories (groups) below `dir`, recursively, relative to it (bounded depth). */
export async function groupsBelow(dir: string, depth = 4): Promise<string[]> {
  const found: string[] = [];
  const visit = async (rel: string, level: number) => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      found.push(path.join(rel, e.name));
      if (level < depth) await visit(path.join(rel, e.name), level + 1);
    }
  };
  await visit("", 0);
  return found;
}

/** A number in a cgroup file (pids.max, memory.limit_in_bytes); null when absent or "max". */
export async function limitIn(dir: string, file: string): Promise<number | null> {
  const text = (await read(path.join(dir, file))).trim();
  return /^\d+$/.test(text) ? Number(text) : null;
}

/** Host pids whose environment holds `marker` (a run's or a context's own variable: every process inherits it). */
export async function pidsWithEnv(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const env = await read(`/proc/${entry}/environ`);
    if (env.includes(marker)) found.push(Number(entry));
  }
  return found;
}
