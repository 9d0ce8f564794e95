import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { findMount } from "./mountinfo.ts";

export type ProbeResult = { ok: true; ms: number } | { ok: false; error: string };

/** Probe objects live apart from the workspaces, one per runtime instance (several runtimes share a bucket). */
export const PROBE_DIR = ".threadbox-health";

/*
 * Write, rename over, read back and delete one small object. The rename is part of the probe because markers,
 * manifests and uploads are written aside and renamed into place: a mount without a working rename is refused.
 */
const SCRIPT = `set -eu
dir="$1/${PROBE_DIR}"; name="$2"; token="$3"
mkdir -p "$dir"
printf '%s' "$token" > "$dir/$name.tmp"
mv -f "$dir/$name.tmp" "$dir/$name"
test "$(cat "$dir/$name")" = "$token"
rm -f "$dir/$name"`;

/**
 * Checks the mount end to end in a child process with a hard deadline: a hung FUSE daemon can block a process in
 * the kernel, and that must be a child, never the server. The answer comes at the deadline whatever the child does.
 */
export function probeMount(mountDir: string, name: string, timeoutMs: number): Promise<ProbeResult> {
  // Never write through a mount point with nothing mounted on it: that would land on the local disk below.
  if (!findMount(mountDir)) return Promise.resolve({ ok: false, error: `nothing is mounted at ${mountDir}` });
  const started = performance.now();
  const token = randomBytes(8).toString("hex");
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", SCRIPT, "probe", mountDir, name, token], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { PATH: "/usr/bin:/bin" },
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish({ ok: false, error: `the storage probe did not finish within ${timeoutMs} ms (hung mount?)` });
    }, timeoutMs);
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    child.once("error", (err) => finish({ ok: false, error: `the storage probe could not start: ${err.message}` }));
    child.once("exit", (code, signal) => {
      if (code === 0) finish({ ok: true, ms: Math.round(performance.now() - started) });
      else finish({ ok: false, error: stderr.trim() || `the storage probe failed (${signal ?? `exit ${code}`})` });
    });
  });
}
