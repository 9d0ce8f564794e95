import { type ChildProcess, spawn } from "node:child_process";
import { Duplex } from "node:stream";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { Services } from "../services.ts";
import type { WorkspaceLocation } from "../thread-location.ts";

/** How long the relay may take to join the namespace and connect. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A connection to 127.0.0.1:port inside a thread's network namespace, as a stream: the native launcher's
 * `--connect` relay (as the thread's uid, in its namespace) speaks to the port, this side to its stdio. Usable as
 * an http.request `createConnection` socket (the socket methods http calls are no-ops here).
 */
export class RelaySocket extends Duplex {
  constructor(private readonly child: ChildProcess) {
    super({ allowHalfOpen: true });
    child.stdout?.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout?.pause();
    });
    child.stdout?.once("end", () => this.push(null));
    // Writes after the relay has ended (the server closed first) are dropped, not thrown.
    child.stdin?.on("error", () => undefined);
  }

  override _read(): void {
    this.child.stdout?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (!this.child.stdin || this.child.stdin.destroyed) return done();
    this.child.stdin.write(chunk, () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.child.stdin?.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    done(err);
  }

  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

function notListening(port: number, why: string): AppError {
  return new AppError(
    ErrorCode.PORT_NOT_LISTENING,
    `nothing answers on port ${port} inside the thread's sandbox (${why}); start a server listening on 127.0.0.1:${port} or 0.0.0.0:${port} first`,
    { port },
  );
}

/** Relays open per thread key: a preview URL's holder cannot fill the host with relay processes. */
const openRelays = new Map<string, number>();

function claimRelay(s: Services, key: string): () => void {
  const open = openRelays.get(key) ?? 0;
  const cap = s.config.PREVIEW_CONNECTIONS_PER_THREAD;
  if (open >= cap) {
    throw new AppError(ErrorCode.RATE_LIMITED, `the thread has ${open} preview connections open, its cap (PREVIEW_CONNECTIONS_PER_THREAD); close some first`, { retry_after: 1 });
  }
  openRelays.set(key, open + 1);
  let given = false;
  return () => {
    if (given) return;
    given = true;
    const left = (openRelays.get(key) ?? 1) - 1;
    if (left > 0) openRelays.set(key, left);
    else openRelays.delete(key);
  };
}

/** Connects to `port` in the thread's sandbox network; PORT_NOT_LISTENING when nothing accepts there. */
export async function connectToPort(s: Services, loc: WorkspaceLocation, port: number): Promise<RelaySocket> {
  const giveBack = claimRelay(s, loc.key);
  let relay;
  try {
    relay = await s.sandbox.portRelay(loc.owner, s.sandbox.settings.network(loc.key), port);
  } catch (err) {
    giveBack();
    throw err;
  }
  const hold = relay;
  const release = () => {
    giveBack();
    return hold.release();
  };
  const [file, ...args] = relay.prefix as [string, ...string[]];
  const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], env: {} });
  child.once("exit", () => void release());
  child.once("error", () => void release());
  return new Promise<RelaySocket>((resolve, reject) => {
    let stderr = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(notListening(port, why));
    };
    const timer = setTimeout(() => fail("the connection did not open in time"), CONNECT_TIMEOUT_MS);
    child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    child.once("error", (err) => fail(err.message));
    child.once("exit", (code) => fail(stderr.replace(/^seccomp-exec: /, "").trim() || `relay exited ${code}`));
    const onFirst = (chunk: Buffer) => {
      if (chunk[0] !== 0x2b) return fail("the relay answered unexpectedly");
      child.stdout?.pause();
      child.removeAllListeners("exit");
      child.once("exit", () => void release());
      clearTimeout(timer);
      const socket = new RelaySocket(child);
      if (chunk.length > 1) socket.push(chunk.subarray(1));
      resolve(socket);
    };
    child.stdout?.once("data", onFirst);
  });
}
