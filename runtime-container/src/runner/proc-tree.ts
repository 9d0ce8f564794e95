import { readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

/**
 * The descendants of `pid` (not `pid` itself) as host pids, from /proc/<pid>/stat of every process visible now: a
 * process tree seen from outside, whatever sessions or namespaces its members made. A process forked during the
 * scan may be missed.
 */
export function descendantsOf(pid: number): number[] {
  const children = childMap();
  const found: number[] = [];
  const seen = new Set<number>([pid]);
  for (const queue = [...(children.get(pid) ?? [])]; queue.length > 0; ) {
    const next = queue.shift() as number;
    if (seen.has(next)) continue;
    seen.add(next);
    found.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return found;
}

/** Parent pid → child pids. */
function childMap(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentOf(name);
    if (ppid === null) continue;
    const list = map.get(ppid) ?? [];
    list.push(Number(name));
    map.set(ppid, list);
  }
  return map;
}

function parentOf(pid: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // The command name (field 2) may hold spaces and parentheses: the fields after the last ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[1]);
  } catch {
    return null; // exited during the scan
  }
}

/** Resident memory of a process and all its descendants (an interpreter runs under the sandbox's wrappers), in bytes. */
export async function treeRss(rootPid: number): Promise<number | null> {
  const rss = async (pid: number) => {
    const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => null);
    return status === null ? null : Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  };
  const root = await rss(rootPid);
  if (root === null) return null;
  const rest = await Promise.all(descendantsOf(rootPid).map(rss));
  return rest.reduce<number>((sum, bytes) => sum + (bytes ?? 0), root);
}
