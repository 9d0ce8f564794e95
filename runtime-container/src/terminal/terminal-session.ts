import { readFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import type { TerminalControl } from "../../../shared/src/index.ts";
import { admitRun } from "../quota/run-quota.ts";
import { prepareGuest } from "../runner/guest.ts";
import { signalTree } from "../runner/kill-tree.ts";
import { spawnTree } from "../runner/spawn.ts";
import { STATUS_FD, launcherArgv } from "../sandbox/launcher.ts";
import { resolveLimits } from "../sandbox/limits.ts";
import type { Services } from "../services.ts";
import type { WorkspaceLocation } from "../thread-location.ts";

/** The PTY relay (pty-relay.py), passed on the command line so nothing has to be copied into the sandbox. */
const PTY_RELAY = readFileSync(new URL("./pty-relay.py", import.meta.url), "utf8");

function frame(kind: "d" | "r", payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = kind.charCodeAt(0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/**
 * One terminal: bash on a PTY inside the thread's sandbox, every layer of a run around it (prepareGuest: its uid,
 * namespaces, filter, limits, cgroup; admitted and watched by the disk quota). No run timeout: it lives until
 * `close` (the socket closed), the shell exits, or the thread goes over its disk quota. Ending kills the whole tree.
 */
export class TerminalSession {
  private ended = false;
  private readonly endedHandlers: Array<(why: string) => void> = [];
  /** Settles once the tree has exited and its uid hold and quota watch are given back. */
  readonly exited: Promise<void>;
  private markExited: () => void = () => undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly output: Readable,
  ) {
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  static async start(s: Services, loc: WorkspaceLocation): Promise<TerminalSession> {
    const ws = await s.workspaces.ensure(loc);
    const admitted = await admitRun(s.quota, loc, resolveLimits(s.config), "the terminal was not started");
    let cmd;
    try {
      const argv = launcherArgv([s.config.PYTHON_BIN, "-I", "-c", PTY_RELAY]);
      cmd = await prepareGuest(s.config, s.sandbox, loc, { argv, cwd: ws.guestRoot, env: { TERM: "xterm-256color" }, limits: admitted.limits });
    } catch (err) {
      admitted.end();
      throw err;
    }
    // Its own process group, only the environment given, fd 3 the relay's status; stdin a pipe for the keystrokes.
    const child = spawnTree(cmd, { pipe: true });
    const session = new TerminalSession(child as unknown as ChildProcess, child.stdout as Readable);
    const release = cmd.release;
    child.once("exit", () => {
      session.end("the shell exited");
      // spawnTree released the uid on exit too; release is idempotent, and its end is what the quota waits for.
      void (release?.() ?? Promise.resolve()).finally(() => {
        admitted.end();
        session.markExited();
      });
    });
    // The relay's status on fd 3: it has exited (the shell ended); proot would wait for what the shell left behind.
    (child.stdio[STATUS_FD] as unknown as Readable).once("data", () => session.end("the shell exited"));
    child.stderr?.resume();
    // Input racing the shell's end would hit a closed pipe: dropped, never an unhandled error in the runtime.
    child.stdin?.on("error", () => undefined);
    admitted.signal.addEventListener("abort", () => session.end(String(admitted.signal.reason)), { once: true });
    void child.catch(() => undefined);
    return session;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Input for the shell, or a resize. */
  send(msg: TerminalControl | Buffer): void {
    if (this.ended) return;
    const stdin = this.child.stdin as Writable;
    if (Buffer.isBuffer(msg)) stdin.write(frame("d", msg));
    else if (msg.type === "input") stdin.write(frame("d", Buffer.from(msg.data, "utf8")));
    else {
      const size = Buffer.alloc(4);
      size.writeUInt16BE(msg.cols, 0);
      size.writeUInt16BE(msg.rows, 2);
      stdin.write(frame("r", size));
    }
  }

  onEnd(fn: (why: string) => void): void {
    this.endedHandlers.push(fn);
  }

  /** Kills the whole tree (idempotent). */
  end(why: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.child.pid !== undefined) signalTree(this.child.pid, "SIGKILL");
    for (const fn of this.endedHandlers) fn(why);
  }
}
