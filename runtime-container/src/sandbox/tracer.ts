import { existsSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";

/** nondumpable.so, built beside the launcher by scripts/setup.sh (native/nondumpable/); null when missing. */
export function nondumpableBeside(helper: string): string | null {
  const file = path.join(path.dirname(helper), "nondumpable.so");
  return existsSync(file) ? file : null;
}

/**
 * The start-up check of the tracer layer: proot as a sandbox uid under the launcher, as every run has it (filter,
 * nondumpable.so, the pid namespace when it is on), runs a nested program, then a shell that tries to open proot's
 * memory (`/proc/$PPID/mem`: proot is the shell's parent). PROTECTED shows both that proot works this way and that
 * the programs it traces cannot reach it.
 */
export async function tracerProtected(helper: string, prootBin: string, shim: string, uid: number, pidNamespace: boolean): Promise<boolean> {
  const script = '/bin/true && if true 2>/dev/null </proc/$PPID/mem; then echo REACHABLE; else echo PROTECTED; fi';
  const launcher = [...(pidNamespace ? ["--pidns"] : ["--ipcns"]), `--uid=${uid}`, `--gid=${uid}`, "--filter=proot", `--preload=${shim}`];
  const proot = [prootBin, "--verbose=-1", "-r", "/", "-w", "/", "/bin/sh", "-c", script];
  const r = await execa(helper, [...launcher, "--", ...proot], {
    reject: false,
    timeout: 20_000,
    stdin: "ignore",
    cwd: "/",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    extendEnv: false,
  });
  return r.exitCode === 0 && r.stdout.trim() === "PROTECTED";
}
