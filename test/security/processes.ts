import { readdir, readFile } from "node:fs/promises";

/**
 * Host-wide process scan for the teardown checks. A run's processes are found three ways, because each misses
 * something: the case's marker in the environment (every process of the run inherits it, `setsid` daemons
 * included), the marker as the process name (a zombie keeps only its name, no environment or argv), and the
 * thread's own uid when the runtime gives each thread one (what a sandboxed program cannot shed).
 */
export interface ProcInfo {
  pid: number;
  ppid: number;
  uid: number;
  /** R running, S sleeping, Z zombie, ... */
  state: string;
  /** comm: at most 15 characters. */
  name: string;
  cmdline: string;
  environ: string;
}

const read = (file: string) => readFile(file, "latin1").catch(() => "");

async function procInfo(pid: number): Promise<ProcInfo | null> {
  const status = await read(`/proc/${pid}/status`);
  if (!status) return null;
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1] ?? "";
  return {
    pid,
    ppid: Number(field("PPid")),
    uid: Number(field("Uid").split(/\s+/)[0]),
    state: field("State").charAt(0),
    name: field("Name"),
    cmdline: (await read(`/proc/${pid}/cmdline`)).replaceAll("\0", " "),
    environ: (await read(`/proc/${pid}/environ`)).replaceAll("\0", " "),
  };
}

export async function scanProcesses(): Promise<ProcInfo[]> {
  const pids = (await readdir("/proc")).filter((p) => /^\d+$/.test(p)).map(Number);
  const infos = await Promise.all(pids.filter((p) => p !== process.pid).map(procInfo));
  return infos.filter((p): p is ProcInfo => p !== null);
}

/** True when `pid`'s ancestry (bounded walk) reaches `ancestor`. */
function descendsFrom(byPid: Map<number, ProcInfo>, pid: number, ancestor: number): boolean {
  let p = byPid.get(pid);
  for (let i = 0; p && i < 64; i++) {
    if (p.ppid === ancestor) return true;
    p = byPid.get(p.ppid);
  }
  return false;
}

export interface RunIdentity {
  marker: string;
  /** The thread's own uid, or null when threads share one (then the uid says nothing about this run). */
  uid: number | null;
  /** The runtime's pid: a uid match counts only under it or orphaned to init, never another runtime's run. */
  runtimePid: number;
}

/** Processes (zombies included) that belong to the run. */
export async function processesOf(run: RunIdentity): Promise<ProcInfo[]> {
  const all = await scanProcesses();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const name = run.marker.slice(0, 15);
  return all.filter((p) => {
    if (p.cmdline.includes("vitest")) return false;
    if (p.environ.includes(run.marker) || p.cmdline.includes(run.marker) || p.name === name) return true;
    if (run.uid === null || p.uid !== run.uid) return false;
    return p.ppid === 1 || p.state === "Z" || descendsFrom(byPid, p.pid, run.runtimePid);
  });
}

export const describeProcs = (procs: ProcInfo[]) =>
  procs.map((p) => `${p.pid} ppid=${p.ppid} uid=${p.uid} ${p.state} ${p.name}: ${p.cmdline.slice(0, 200)}`).join("\n");

/** Resident memory of a process, in bytes (VmRSS). */
export async function residentBytes(pid: number): Promise<number> {
  const kb = /^VmRSS:\s*(\d+)\s*kB$/m.exec(await read(`/proc/${pid}/status`))?.[1];
  return Number(kb ?? 0) * 1024;
}

/** TCP ports `pid` listens on: its socket inodes matched against the LISTEN rows of /proc/<pid>/net/tcp{,6}. */
export async function listeningPorts(pid: number): Promise<{ port: number; v6: boolean }[]> {
  const { readlink } = await import("node:fs/promises");
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
  const inodes = new Set<string>();
  for (const fd of fds) {
    const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ""));
    if (m?.[1]) inodes.add(m[1]);
  }
  const ports: { port: number; v6: boolean }[] = [];
  for (const [file, v6] of [["tcp", false], ["tcp6", true]] as const) {
    for (const line of (await read(`/proc/${pid}/net/${file}`)).split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; st 0A is LISTEN; the inode is column 10.
      if (cols[3] === "0A" && inodes.has(cols[9] ?? "")) ports.push({ port: Number.parseInt(cols[1]?.split(":")[1] ?? "0", 16), v6 });
    }
  }
  return ports;
}
