import { chown, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { type CaptureTarget, WHOLE_SCREEN, screenSize } from "./capture-plan.ts";
import { CHILD_ENV, type CaptureOutcome, captureX } from "./x-capture.ts";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { Owner } from "../files/safe-open.ts";
import type { HostProcess } from "../sandbox/create.ts";
import { writeWorkspaceFile } from "../files/file-ops.ts";
import type { Logger } from "../logger.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { newCookie, xauthority } from "./xauthority.ts";

const REAP_EVERY_MS = 30_000;
const START_TIMEOUT_MS = 15_000;
/** Where the thread's X client credentials appear, relative to its private /tmp. */
export const GUEST_XAUTHORITY = ".threadbox-x11/Xauthority";

export interface DisplayOptions {
  /** `WIDTHxHEIGHTxDEPTH` of the virtual screen. */
  screen: string;
  idleS: number;
  /** Host directory for the servers' own auth files (never visible in a sandbox). */
  stateDir: string;
  owner: (loc: WorkspaceLocation) => Owner;
  /**
   * How the display server runs: as the thread's uid, in the thread's network namespace (where its sandboxes reach
   * the display's abstract socket), with the uid unswept while it lives (see Sandbox.hostProcess).
   */
  host: (loc: WorkspaceLocation) => Promise<HostProcess>;
}

export interface ThreadDisplay {
  /** The X display number (`:N`). */
  number: number;
}

interface Running {
  number: number;
  serverAuth: string;
  /** The thread's uid: the screenshot tool runs as it, not as root (it speaks X to a server the thread drives). */
  owner: Owner;
  stop: () => void;
  kill: () => void;
  lastUsed: number;
  exited: boolean;
  /** Settles once the server has exited and the uid hold is given back. */
  ended: Promise<void>;
}

/**
 * One Xvfb per thread, started on first need, stopped when idle or released (a display per thread). It listens in
 * the thread's network namespace (its abstract socket is reachable from that thread's sandboxes only), and
 * requires the thread's cookie all the same (see xauthority.ts).
 */
export class DisplayManager {
  private readonly byThread = new Map<string, Promise<Running>>();

  constructor(
    private readonly options: DisplayOptions,
    private readonly logger: Logger,
  ) {
    setInterval(() => this.reap(), REAP_EVERY_MS).unref();
  }

  /** The thread's display, started when it has none; its cookie is (re)written into the thread's private /tmp. */
  async acquire(loc: WorkspaceLocation): Promise<ThreadDisplay> {
    let pending = this.byThread.get(loc.key);
    const current = pending && (await pending.catch(() => null));
    if (!current || current.exited) {
      pending = this.start(loc);
      this.byThread.set(loc.key, pending);
      pending.catch(() => this.byThread.delete(loc.key));
    }
    const display = await (pending as Promise<Running>);
    display.lastUsed = Date.now();
    return { number: display.number };
  }

  /** Stops the thread's display (its Durable Object's idle alarm, or the thread's deletion). */
  release(loc: WorkspaceLocation): boolean {
    const pending = this.byThread.get(loc.key);
    this.byThread.delete(loc.key);
    void pending?.then((d) => d.stop(), () => undefined);
    return pending !== undefined;
  }

  /**
   * Stops the thread's display for good (its thread is being deleted) and resolves once the server has exited, so no
   * process of the thread's uid is left.
   */
  async close(loc: WorkspaceLocation): Promise<boolean> {
    const pending = this.byThread.get(loc.key);
    this.byThread.delete(loc.key);
    const display = await pending?.catch(() => null);
    if (display) {
      display.stop();
      // SIGTERM ends Xvfb; SIGKILL when it has not within a few seconds (a wedged server must not block a deletion).
      const timer = setTimeout(() => display.kill(), 5_000);
      await display.ended;
      clearTimeout(timer);
    }
    return pending !== undefined;
  }

  /**
   * One picture of the screen, a window or an area of the thread's display, taken from the host (null when it has no
   * display running). The tools run as the thread's uid (see x-capture.ts).
   */
  async capture(loc: WorkspaceLocation, target: CaptureTarget = WHOLE_SCREEN): Promise<CaptureOutcome> {
    const display = await this.byThread.get(loc.key)?.catch(() => null);
    if (!display || display.exited) return null;
    const { number, serverAuth, owner } = display;
    return captureX({ number, serverAuth, owner, screen: screenSize(this.options.screen) }, target);
  }

  /** Whether the thread has a display (running or starting). */
  holds(key: string): boolean {
    return this.byThread.has(key);
  }

  get size(): number {
    return this.byThread.size;
  }

  stopAll(): void {
    for (const key of [...this.byThread.keys()]) {
      void this.byThread.get(key)?.then((d) => d.stop(), () => undefined);
      this.byThread.delete(key);
    }
  }

  private async start(loc: WorkspaceLocation): Promise<Running> {
    const cookie = newCookie();
    const auth = xauthority(cookie);
    const owner = this.options.owner(loc);
    const dir = path.join(this.options.stateDir, "displays");
    await mkdir(dir, { recursive: true, mode: 0o711 });
    const serverAuth = path.join(dir, `${loc.tenant}.${loc.thread}.auth`);
    await writeFile(serverAuth, auth, { mode: 0o600 });
    if (owner) await chown(serverAuth, owner.uid, owner.gid);
    // The sandbox may have planted links in its /tmp: the write walks it without following any.
    await writeWorkspaceFile(loc.privateTmp.tmp, GUEST_XAUTHORITY, auth, { mode: 0o600, owner });

    // Xvfb parses what the thread's programs send it: it runs as the thread's uid, not as the server's, and dies
    // with the runtime. -displayfd: it takes the first free display number and writes it to fd 3 once it serves.
    // Screenshots (taken from the host) reach it through its socket file in the host's /tmp/.X11-unix.
    const xvfb = ["Xvfb", "-displayfd", "3", "-screen", "0", this.options.screen, "-auth", serverAuth, "-nolisten", "tcp", "-noreset"];
    const host = await this.options.host(loc);
    const [file, ...args] = [...host.prefix, ...xvfb] as [string, ...string[]];
    const unhold = host.release;
    const child = execa(file, args, {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
      // It runs as the thread's uid: none of the server's environment (secrets) goes with it.
      env: CHILD_ENV,
      extendEnv: false,
      reject: false,
      cleanup: true,
    });
    const ended = child.then(async () => {
      running.exited = true;
      await Promise.all([rm(serverAuth, { force: true }).catch(() => undefined), unhold()]);
    });
    const running: Running = {
      number: -1,
      serverAuth,
      owner,
      lastUsed: Date.now(),
      exited: false,
      ended,
      stop: () => child.kill("SIGTERM"),
      kill: () => child.kill("SIGKILL"),
    };
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    running.number = await readDisplayNumber(child.stdio[3] as NodeJS.ReadableStream, child).catch((err: unknown) => {
      child.kill("SIGKILL");
      throw new AppError(ErrorCode.INTERNAL_ERROR, `the thread's display (Xvfb) did not start: ${String(err)} ${stderr.trim()}`);
    });
    this.logger.info("display started", { tenant: loc.tenant, thread_id: loc.thread, display: running.number });
    return running;
  }

  private reap(): void {
    const cutoff = Date.now() - this.options.idleS * 1000;
    for (const [key, pending] of this.byThread) {
      void pending.then(
        (d) => {
          if (d.lastUsed >= cutoff && !d.exited) return;
          if (this.byThread.get(key) === pending) this.byThread.delete(key);
          d.stop();
          this.logger.info("idle display stopped", { thread: key, display: d.number });
        },
        () => undefined,
      );
    }
  }
}

function readDisplayNumber(fd3: NodeJS.ReadableStream, child: Promise<unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error("no display number within 15 s")), START_TIMEOUT_MS);
    fd3.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (!text.includes("\n")) return;
      clearTimeout(timer);
      resolve(Number.parseInt(text, 10));
    });
    void child.then(() => {
      clearTimeout(timer);
      reject(new Error("Xvfb exited"));
    });
  });
}
