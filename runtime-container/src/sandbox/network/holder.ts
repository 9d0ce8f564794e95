import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, fstatSync, openSync } from "node:fs";

/** How long a namespace holder or a user-mode stack may take to come up before the run fails. */
export const START_TIMEOUT_MS = 10_000;

/**
 * A thread's network namespace, held by a process of the launcher (`--hold-netns`): a new user namespace owned by
 * root (only root mapped) with a new network namespace in it, lo up. The runtime keeps both namespaces open as fds
 * of its own and hands out `/proc/<runtime pid>/fd/<n>` paths, which stay valid (and cannot come to name another
 * namespace, as a reused holder pid could) for as long as it holds them. The holder dies with the runtime
 * (parent-death signal) or when its stdin closes.
 */
export interface NetnsHolder {
  /** Path of the network namespace, for the launcher's `--netns`, nsenter and the user-mode stack. */
  readonly net: string;
  /** Path of its user namespace (root in it may change the network namespace). */
  readonly user: string;
  readonly pid: number;
  /** Resolves when the holder has exited. */
  readonly exited: Promise<void>;
  /** Ends the holder (the namespace lives on while a process is in it). */
  kill(): void;
  /** kill(), and closes the runtime's fds: only when no command line with `net` can still start. */
  close(): void;
}

function readReady(child: ChildProcess): Promise<{ net: number; user: number }> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error("the network namespace holder did not start in time")), START_TIMEOUT_MS);
    child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\d+) (\d+)\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({ net: Number(m[1]), user: Number(m[2]) });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the network namespace holder exited (${code ?? signal}): ${err.trim()}`));
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Opens /proc/<pid>/ns/<kind> and checks it is the namespace the holder reported (not a reused pid's). */
function openNamespace(pid: number, kind: "net" | "user", inode: number): number {
  const fd = openSync(`/proc/${pid}/ns/${kind}`, "r");
  if (fstatSync(fd).ino !== inode) {
    closeSync(fd);
    throw new Error(`the network namespace holder ${pid} is gone`);
  }
  return fd;
}

export async function startHolder(launcher: string): Promise<NetnsHolder> {
  const child = spawn(launcher, ["--hold-netns"], { stdio: ["pipe", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const fds: number[] = [];
  try {
    const ids = await readReady(child);
    fds.push(openNamespace(child.pid as number, "net", ids.net), openNamespace(child.pid as number, "user", ids.user));
  } catch (err) {
    child.kill("SIGKILL");
    for (const fd of fds) closeSync(fd);
    throw err;
  }
  const [netFd, userFd] = fds as [number, number];
  let closed = false;
  const kill = () => void child.kill("SIGKILL");
  return {
    net: `/proc/${process.pid}/fd/${netFd}`,
    user: `/proc/${process.pid}/fd/${userFd}`,
    pid: child.pid as number,
    exited,
    kill,
    close() {
      kill();
      if (closed) return;
      closed = true;
      closeSync(netFd);
      closeSync(userFd);
    },
  };
}
