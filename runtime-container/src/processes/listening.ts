import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { descendantsOf } from "../runner/proc-tree.ts";

/** TCP state LISTEN in /proc/net/tcp. */
const LISTEN = "0A";

/**
 * Whether a process of the tree under `rootPid` listens on TCP `port`: the sockets the tree holds (its fds, from
 * /proc), matched by inode against the listening sockets of the network namespace each one is in. Only the tree's
 * own sockets count, so a listener of another thread or of the host on the same port is never taken for it.
 */
export function treeListensOn(rootPid: number, port: number): boolean {
  const pids = [rootPid, ...descendantsOf(rootPid)];
  const inodes = new Set<string>();
  for (const pid of pids) for (const inode of socketInodes(pid)) inodes.add(inode);
  if (inodes.size === 0) return false;
  const namespaces = new Set<string>();
  for (const pid of pids) {
    const ns = readLink(`/proc/${pid}/ns/net`);
    if (ns === null || namespaces.has(ns)) continue;
    namespaces.add(ns);
    for (const table of ["tcp", "tcp6"]) if (listens(readText(`/proc/${pid}/net/${table}`), port, inodes)) return true;
  }
  return false;
}

function listens(table: string | null, port: number, inodes: Set<string>): boolean {
  for (const line of (table ?? "").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    if (f.length < 10 || f[3] !== LISTEN) continue;
    if (Number.parseInt(f[1]?.split(":")[1] ?? "", 16) === port && inodes.has(f[9] as string)) return true;
  }
  return false;
}

function socketInodes(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return []; // exited
  }
  return fds.flatMap((fd) => /^socket:\[(\d+)\]$/.exec(readLink(`/proc/${pid}/fd/${fd}`) ?? "")?.[1] ?? []);
}

function readLink(p: string): string | null {
  try {
    return readlinkSync(p);
  } catch {
    return null;
  }
}

function readText(p: string): string | null {
  try {
    return readFileSync(p, "latin1");
  } catch {
    return null;
  }
}
