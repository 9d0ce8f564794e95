import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { START_TIMEOUT_MS } from "./holder.ts";

/** A running user-mode network stack: the sandbox's only way out of its network namespace. */
export interface UserModeStack {
  readonly pid: number;
  stop(): void;
}

/**
 * slirp4netns on a namespace holder: a tap device in the namespace (10.0.2.100/24, gateway 10.0.2.2, MTU 65520),
 * its traffic re-sent from the host's network stack by this process (root, in a sandbox of its own and under its
 * own seccomp filter). `--disable-host-loopback` keeps 10.0.2.2 from leading to the host's 127.0.0.1, unless host
 * loopback ports are allowed: then the egress rules inside the namespace open exactly those (egress-rules.ts), as
 * they refuse the rest of what the host can reach. It ends when its exit fd (fd 3, held by the runtime) closes, so
 * it ends with the runtime too.
 */
export async function startSlirp(ns: { net: string; user: string }, opts: { hostLoopback: boolean }): Promise<UserModeStack> {
  const args = [
    "--configure",
    "--mtu=65520",
    ...(opts.hostLoopback ? [] : ["--disable-host-loopback"]),
    "--enable-sandbox",
    "--enable-seccomp",
    "--exit-fd=3",
    "--ready-fd=4",
    `--userns-path=${ns.user}`,
    "--netns-type=path",
    ns.net,
    "tap0",
  ];
  const child = spawn("slirp4netns", args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
  const exitFd = child.stdio[3] as Readable;
  const stop = () => {
    exitFd.destroy();
    child.kill("SIGKILL");
  };
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("slirp4netns did not come up in time")), START_TIMEOUT_MS);
      (child.stdio[4] as Readable).once("data", () => {
        clearTimeout(timer);
        resolve();
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`slirp4netns exited (${code ?? signal}): ${err.trim()}`));
      });
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`slirp4netns: ${e.message} (install slirp4netns; scripts/setup.sh does)`));
      });
    });
  } catch (e) {
    stop();
    throw e;
  }
  return { pid: child.pid as number, stop };
}
