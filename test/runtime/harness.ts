import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import {
  type ExecutionEvent,
  parseEvent,
  parseNdjsonStream,
  parseSseStream,
  RUNTIME_HEADER,
  signRequest,
} from "../../shared/src/index.ts";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TEST_SECRET = "test-secret-0123456789abcdef";

export interface CallOptions {
  body?: unknown;
  raw?: Uint8Array | string;
  accept?: "json" | "sse" | "ndjson";
  headers?: Record<string, string>;
  /** false: send no signature; a function: tamper with the signed headers. */
  sign?: boolean | ((h: Record<string, string>) => Record<string, string>);
}

export interface RuntimeProcess {
  url: string;
  root: string;
  workspaces: string;
  child: ChildProcess;
  logs: () => string;
  call(method: string, pathAndQuery: string, opts?: CallOptions): Promise<Response>;
  /** A JSON call that must answer `status`; returns the parsed body. */
  json<T = Record<string, unknown>>(method: string, pathAndQuery: string, body?: unknown, status?: number): Promise<T>;
  stop(): Promise<void>;
}

const ACCEPT = { json: "application/json", sse: "text/event-stream", ndjson: "application/x-ndjson" };

/**
 * Starts a real runtime process (real proot, real python3) on a free loopback port with its own data dirs.
 * `opts.root` reuses another runtime's data dirs (a restart after a crash); stop() then leaves them to their owner.
 */
export async function startRuntime(env: Record<string, string> = {}, opts: { root?: string } = {}): Promise<RuntimeProcess> {
  const ownsRoot = opts.root === undefined;
  const root = opts.root ?? (await mkdtemp(path.join(os.tmpdir(), "threadbox-test-")));
  if (ownsRoot) await chmod(root, 0o711);
  const workspaces = path.join(root, "threads");
  const child = spawn(process.execPath, ["--import", "tsx", "runtime-container/src/main.ts"], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: "0",
      HMAC_SECRET: TEST_SECRET,
      WORKSPACES_ROOT: workspaces,
      STATE_DIR: path.join(root, "state"),
      KILL_GRACE_MS: "500",
      LOG_LEVEL: "warn",
      // Another proot build for the whole run (e.g. PROOT_BIN=$(bash scripts/build-proot.sh) npx vitest run ...).
      ...(process.env.PROOT_BIN ? { PROOT_BIN: process.env.PROOT_BIN } : {}),
      // Not root (a developer machine): no uid switch, so the runtime would refuse to start without this.
      ...(process.getuid?.() === 0 ? {} : { ALLOW_DEGRADED_ISOLATION: "1" }),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime did not start:\n${output}`)), 30_000);
    child.stdout?.on("data", () => {
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited with ${code}:\n${output}`));
    });
  });

  // Called as the worker calls it: a runtime given a RUNTIME_ID gets requests signed for that name.
  const named: Record<string, string> = env.RUNTIME_ID ? { [RUNTIME_HEADER]: env.RUNTIME_ID } : {};
  const call = async (method: string, pathAndQuery: string, opts: CallOptions = {}) => {
    const extra = { ...named, ...opts.headers };
    const body =
      opts.raw !== undefined
        ? typeof opts.raw === "string"
          ? new TextEncoder().encode(opts.raw)
          : opts.raw
        : opts.body === undefined
          ? new Uint8Array()
          : new TextEncoder().encode(JSON.stringify(opts.body));
    let headers: Record<string, string> = {};
    if (opts.sign !== false) {
      headers = await signRequest(TEST_SECRET, { method, path: pathAndQuery, body, headers: extra });
      if (typeof opts.sign === "function") headers = opts.sign(headers);
    }
    return fetch(url + pathAndQuery, {
      method,
      headers: { accept: ACCEPT[opts.accept ?? "json"], "content-type": "application/json", ...headers, ...extra },
      body: method === "GET" || method === "HEAD" ? undefined : body,
    });
  };

  return {
    url,
    root,
    workspaces,
    child,
    logs: () => output,
    call,
    async json(method, pathAndQuery, body, status = 200) {
      const res = await call(method, pathAndQuery, { body });
      const text = await res.text();
      if (res.status !== status) throw new Error(`${method} ${pathAndQuery}: expected ${status}, got ${res.status}: ${text}`);
      return JSON.parse(text);
    },
    async stop() {
      // A child ended by a signal (a test's SIGKILL) has exitCode null but signalCode set: it will not exit again.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      if (ownsRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

/** Events as they arrive, each with the time it was read; SSE framing (id = seq, event = type) is checked on the way. */
export async function* liveEvents(res: Response): AsyncGenerator<{ event: ExecutionEvent; at: number }> {
  if (!res.body) throw new Error("no body");
  if ((res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    for await (const msg of parseSseStream(res.body)) {
      const event = parseEvent(JSON.parse(msg.data));
      expect(msg.id).toBe(String(event.seq));
      expect(msg.event).toBe(event.type);
      yield { event, at: performance.now() };
    }
  } else {
    for await (const value of parseNdjsonStream(res.body)) yield { event: parseEvent(value), at: performance.now() };
  }
}

/** Reads a whole SSE or NDJSON execution stream, every event validated against the shared union. */
export async function readEvents(res: Response): Promise<ExecutionEvent[]> {
  const events: ExecutionEvent[] = [];
  for await (const { event } of liveEvents(res)) events.push(event);
  return events;
}

/** Processes (host-wide) whose command line contains `marker`. */
export async function processesMatching(marker: string): Promise<string[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const found: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes(marker) && !cmd.includes("vitest")) found.push(`${pid}: ${cmd.replaceAll("\0", " ")}`);
  }
  return found;
}
