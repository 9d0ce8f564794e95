import { readFile, readdir } from "node:fs/promises";

/** Resident memory of a process and all its descendants (the interpreter runs under proot/unshare), in bytes. */
export async function treeRss(rootPid: number): Promise<number | null> {
  const parents = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const entry of await readdir("/proc").catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, "utf8").catch(() => "");
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    rss.set(Number(entry), Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  if (!rss.has(rootPid)) return null;
  let total = 0;
  for (const queue = [rootPid]; queue.length > 0; ) {
    const pid = queue.pop() as number;
    total += rss.get(pid) ?? 0;
    queue.push(...(parents.get(pid) ?? []));
  }
  return total;
}
