import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { StreamName } from "../runner/output.ts";
import type { Mounts } from "../sandbox/backend.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { shareWithGroup } from "../files/chown-tree.ts";
import { requirementName } from "./manifest.ts";

export interface InstallRequest {
  specs: string[];
  /** Guest path of the venv's interpreter. */
  python: string;
  /** The run_python tool's `pip_args`, split like a shell would (no expansion). */
  pipArgs?: string;
  /** Guest path of a requirements file. */
  requirementsFile?: string;
  /** System mode: install into this directory (a per-thread location) instead of the interpreter's prefix. */
  target?: string;
  /** `uv` when the image has it, `pip` otherwise. */
  installer: "uv" | "pip";
  timeoutMs: number;
  mounts?: Partial<Mounts>;
  signal?: AbortSignal;
  onOutput?: (stream: StreamName, text: string) => void;
}

export interface InstallOutcome {
  ok: boolean;
  /** `name==version` of every requested package (and of each URL install, from the installer's report). */
  installed: string[];
  /** The installer's last words: its error on failure. */
  message: string;
  /** Every distribution now in the target (the venv's own site-packages, or the system-mode directory). */
  environment: string[];
}

export function splitArgs(text: string): string[] {
  const args = [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
  if (args.some((a) => a.includes("\0"))) throw new AppError(ErrorCode.VALIDATION_FAILED, "pip_args cannot contain NUL");
  return args;
}

// The requested names' versions, and everything installed in the target itself (not the base's packages).
const VERSIONS = `import importlib.metadata as m, json, sys, sysconfig
target = sys.argv[1] or sysconfig.get_paths()["purelib"]
out = {}
for name in sys.argv[2:]:
    try: out[name] = m.version(name)
    except m.PackageNotFoundError: pass
env = sorted({f"{d.metadata['Name']}=={d.version}" for d in m.distributions(path=[target])})
print(json.dumps({"requested": out, "environment": env}))`;

/** Installs into the thread's venv inside its sandbox; a failure is an outcome with the installer's message. */
export async function installPackages(run: GuestRunner, loc: WorkspaceLocation, req: InstallRequest): Promise<InstallOutcome> {
  const targets = [...req.specs, ...(req.requirementsFile ? ["-r", req.requirementsFile] : [])];
  const extra = [...(req.target ? ["--target", req.target] : []), ...(req.pipArgs ? splitArgs(req.pipArgs) : [])];
  const argv =
    req.installer === "uv"
      ? ["uv", "pip", "install", "--python", req.python, ...extra, ...targets]
      : [req.python, "-m", "pip", "install", "--progress-bar", "off", ...extra, ...targets];
  const common = { mounts: req.mounts, signal: req.signal, env: req.target ? { PYTHONPATH: req.target } : undefined };
  const out = await run(loc, { argv, timeoutMs: req.timeoutMs, onOutput: req.onOutput, ...common });
  await shareTenantCache(loc);
  if (out.exitCode !== 0) {
    const lines = `${out.stderr}\n${out.stdout}`.split("\n").map((l) => l.trim()).filter(Boolean);
    const reason = lines.filter((l) => /^(ERROR|error)\b/.test(l)).join("\n") || lines.slice(-5).join("\n");
    const why = out.timedOut ? `the install timed out after ${req.timeoutMs / 1000} s` : reason || `exit ${out.exitCode}`;
    return { ok: false, installed: [], message: why, environment: [] };
  }
  const names = req.specs.map(requirementName).filter((n): n is string => n !== null);
  const probe = await run(loc, { argv: [req.python, "-c", VERSIONS, req.target ?? "", ...names], timeoutMs: 30_000, ...common });
  const found = probe.exitCode === 0 ? (JSON.parse(probe.stdout) as { requested: Record<string, string>; environment: string[] }) : null;
  const installed = Object.entries(found?.requested ?? {}).map(([n, v]) => `${n}==${v}`);
  // URL requirements have no name to look up: take them from the installer's own report.
  if (req.specs.some((s) => requirementName(s) === null)) {
    const report = /Successfully installed (.+)/.exec(out.stdout)?.[1]?.trim().split(/\s+/) ?? [];
    for (const item of report) {
      const m = /^(.+)-([^-]+)$/.exec(item);
      if (m && !installed.some((i) => i.startsWith(`${requirementName(m[1] ?? "")}==`))) installed.push(`${m[1]}==${m[2]}`);
    }
  }
  return { ok: true, installed, message: "", environment: found?.environment ?? installed };
}

/**
 * After an install: the tenant's package cache is shared by its threads, each its own uid, but pip writes cache
 * entries 0600 whatever the umask. Copying the owner's permissions to the tenant's group lets the next thread reuse
 * them; other tenants still cannot enter the directory (0770, the tenant's gid).
 */
async function shareTenantCache(loc: WorkspaceLocation): Promise<void> {
  if (loc.owner) await shareWithGroup(loc.mounts.pipCache, loc.owner.gid);
}
