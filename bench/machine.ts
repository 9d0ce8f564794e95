import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { promisify } from "node:util";
import { descendantsOf } from "../runtime-container/src/runner/proc-tree.ts";

/** The machine a run measured, recorded with its results: numbers mean little without it. */
export interface Machine {
  nproc: number;
  cpu_model: string;
  cpu_mhz: number;
  mem_total_bytes: number;
  kernel: string;
  os: string;
  node: string;
  python: string;
  proot: string;
  /** proot's built-in accelerators (`process_vm = yes, seccomp_filter = no` for Debian's 5.1). */
  proot_accelerators: string;
  /** BENCH_PROOT_ALT's version and accelerators, when the run had one. */
  proot_alt: string | null;
  /** BENCH_RUNTIME_PROOT (the proot the runtime used instead of `proot`), when the run had one. */
  proot_runtime: string | null;
  bwrap: string;
  jupyter_client: string;
  ipykernel: string;
  git_commit: string;
  /** Files changed against that commit when the run started (uncommitted work measured too). */
  git_changed_files: number | null;
  /** 1, 5 and 15 minute load averages when the run started and ended (other work on the host skews numbers). */
  loadavg_start: number[];
  loadavg_end: number[];
}

const run = promisify(execFile);

/** First line of a command's output matching `pick`, or "unknown" (a missing tool must not stop the run). */
async function probe(file: string, args: string[], pick: RegExp = /\S/): Promise<string> {
  try {
    const { stdout, stderr } = await run(file, args, { timeout: 10_000 });
    const line = `${stdout}\n${stderr}`.split("\n").find((l) => pick.test(l));
    return line?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

const field = (text: string, name: string) => new RegExp(`^${name}\\s*:\\s*(.+)$`, "m").exec(text)?.[1]?.trim() ?? "unknown";

export const loadavg = () => os.loadavg().map((v) => Math.round(v * 100) / 100);

const prootVersion = async (bin: string) => (await probe(bin, ["--version"], /\d+\.\d+\.\d+\s*$/)).replace(/^.*?(\d+\.\d+\.\d+)\s*$/, "$1");
const prootAccelerators = async (bin: string) => (await probe(bin, ["--version"], /accelerators/)).replace(/^.*accelerators:\s*/, "");

export async function describeMachine(pythonBin: string, prootAlt?: string, runtimeProot?: string): Promise<Machine> {
  const describeProot = async (bin: string) => `${bin}: ${await prootVersion(bin)} (${await prootAccelerators(bin)})`;
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const meminfo = await readFile("/proc/meminfo", "utf8").catch(() => "");
  const osRelease = await readFile("/etc/os-release", "utf8").catch(() => "");
  const versions = await probe(pythonBin, ["-c", "import jupyter_client, ipykernel; print(jupyter_client.__version__, ipykernel.__version__)"]);
  const [jupyterClient = "unknown", ipykernel = "unknown"] = versions.split(" ");
  return {
    nproc: Number(await probe("nproc", [])) || os.availableParallelism(),
    cpu_model: field(cpuinfo, "model name"),
    cpu_mhz: Number(field(cpuinfo, "cpu MHz")) || 0,
    mem_total_bytes: Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0) * 1024,
    kernel: `${os.release()} ${os.version()}`,
    os: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? os.type(),
    node: process.version,
    python: `${pythonBin}: ${await probe(pythonBin, ["--version"])}`,
    proot: await prootVersion("proot"),
    proot_accelerators: await prootAccelerators("proot"),
    proot_alt: prootAlt ? await describeProot(prootAlt) : null,
    proot_runtime: runtimeProot ? await describeProot(runtimeProot) : null,
    bwrap: await probe("bwrap", ["--version"]),
    jupyter_client: jupyterClient,
    ipykernel,
    git_commit: await probe("git", ["rev-parse", "--short", "HEAD"]),
    git_changed_files: await changedFiles(),
    loadavg_start: loadavg(),
    loadavg_end: [],
  };
}

async function changedFiles(): Promise<number | null> {
  try {
    const { stdout } = await run("git", ["status", "--porcelain"], { timeout: 10_000 });
    return stdout.split("\n").filter(Boolean).length;
  } catch {
    return null;
  }
}

/** Resident memory of a process (VmRSS), bytes; NaN when it is gone. */
export async function rssBytes(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? Number.NaN : Number(kb) * 1024;
}

const kbField = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;

/**
 * Memory of every descendant of `pid` (not `pid` itself), read from /proc: the sum of their VmRSS (shared pages
 * counted in each process, as `ps` does) and of their PSS (shared pages split among the processes mapping them).
 */
export async function descendantsMemory(pid: number | undefined): Promise<{ rss: number; pss: number; processes: number }> {
  if (pid === undefined) return { rss: Number.NaN, pss: Number.NaN, processes: 0 };
  const each = await Promise.all(
    descendantsOf(pid).map(async (p) => {
      const status = await readFile(`/proc/${p}/status`, "utf8").catch(() => "");
      const rollup = await readFile(`/proc/${p}/smaps_rollup`, "utf8").catch(() => "");
      return { rss: kbField(status, "VmRSS"), pss: kbField(rollup, "Pss") };
    }),
  );
  return {
    rss: each.reduce((s, m) => s + m.rss, 0),
    pss: each.reduce((s, m) => s + m.pss, 0),
    processes: each.length,
  };
}
