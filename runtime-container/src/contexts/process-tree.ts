import { readFile } from "node:fs/promises";
import { descendantsOf } from "../runner/proc-tree.ts";

/** Resident memory of a process and all its descendants (the interpreter runs under proot/unshare), in bytes. */
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
