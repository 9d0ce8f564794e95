/**
 * `npm start`: the whole local stack on embedded defaults — a runtime on loopback (workspaces in .data/r2/...) and
 * the worker in workerd through wrangler's dev server (real Durable Objects), pointed at it. The HMAC secret they
 * share is this checkout's own (random, .dev.vars; scripts/dev-vars.mts). A development API key is made once
 * (.data/dev-api-key; THREADBOX_API_KEY overrides it) and printed. Ctrl-C stops everything it started.
 *
 * No debugger port: `wrangler dev` always opens a devtools inspector (its CLI can move it, --inspector-port and
 * --inspector-ip, but not turn it off), and anything that reaches it runs code inside the worker, secrets and all.
 * A sandbox shares the host's loopback unless its thread has `network: "none"`, so the worker is started through
 * wrangler's programmatic API with `dev.inspector: false`, which starts no inspector at all. Ask for one with
 * THREADBOX_INSPECTOR=127.0.0.1:9229 (only on a machine where no untrusted code runs).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { unstable_startWorker } from "wrangler";
import { sha256Hex } from "../shared/src/index.ts";
import { devHmacSecret } from "./dev-vars.mts";

const WORKER_PORT = Number(process.env.PORT ?? "8787");
const RUNTIME_PORT = process.env.RUNTIME_PORT ?? "8788";
const SECRET = devHmacSecret();
const KEY_FILE = ".data/dev-api-key";

function devApiKey(): string {
  if (process.env.THREADBOX_API_KEY) return process.env.THREADBOX_API_KEY;
  if (existsSync(KEY_FILE)) return readFileSync(KEY_FILE, "utf8").trim();
  const key = `tbx_dev_${randomBytes(24).toString("hex")}`;
  mkdirSync(".data", { recursive: true });
  writeFileSync(KEY_FILE, `${key}\n`, { mode: 0o600 });
  return key;
}

/** `host:port` from THREADBOX_INSPECTOR, or false (the default: no inspector). */
function inspector(): { hostname: string; port: number } | false {
  const asked = process.env.THREADBOX_INSPECTOR;
  if (!asked) return false;
  const match = /^(.+):(\d{1,5})$/.exec(asked);
  if (!match?.[1] || !match[2]) throw new Error(`THREADBOX_INSPECTOR must be host:port, got ${asked}`);
  process.stderr.write(`WARNING: worker inspector on ${asked}: whatever can connect to it controls the worker.\n`);
  return { hostname: match[1], port: Number(match[2]) };
}

const children: ChildProcess[] = [];
let stopWorker: (() => Promise<void>) | undefined;
function start(name: string, cmd: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  children.push(child);
  const log = (d: Buffer) => {
    for (const line of d.toString().split("\n")) if (line.trim()) process.stderr.write(`[${name}] ${line}\n`);
  };
  child.stdout?.on("data", log);
  child.stderr?.on("data", log);
  child.once("exit", (code) => {
    process.stderr.write(`[${name}] exited (${code})\n`);
    shutdown(code ?? 1);
  });
  return child;
}

/** Each child leads its own process group (detached): the whole group goes. */
function killChildren(): void {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null || !c.pid) continue;
    try {
      process.kill(-c.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

let stopping = false;
function shutdown(code: number): void {
  if (stopping) return;
  stopping = true;
  killChildren();
  void stopWorker?.().catch(() => undefined);
  setTimeout(() => process.exit(code), 1000).unref();
}
process.once("SIGINT", () => shutdown(0));
process.once("SIGTERM", () => shutdown(0));
// Wrangler's dev server runs in this process and may end it on a signal before the handlers above run.
process.on("exit", killChildren);

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

const key = devApiKey();
const apiKeys = JSON.stringify({ [await sha256Hex(key)]: "dev" });
// Not root (a developer machine): threads cannot get their own uids, so the runtime must be allowed to run degraded.
const degraded: Record<string, string> = process.getuid?.() === 0 ? {} : { ALLOW_DEGRADED_ISOLATION: process.env.ALLOW_DEGRADED_ISOLATION ?? "1" };
if (degraded.ALLOW_DEGRADED_ISOLATION) {
  process.stderr.write("WARNING: not running as root: sandboxes share your uid (no per-thread uids, no uid sweep). Development only.\n");
}
start("runtime", process.execPath, ["--import", "tsx", "runtime-container/src/main.ts"], {
  PORT: RUNTIME_PORT,
  RUNTIME_ID: `http://127.0.0.1:${RUNTIME_PORT}`, // its RUNTIME_URL entry below: requests signed for another runtime are refused
  HMAC_SECRET: SECRET,
  ...degraded,
});

process.env.WRANGLER_SEND_METRICS = "false";
const worker = await unstable_startWorker({
  config: "wrangler.toml",
  sendMetrics: false,
  dev: { inspector: inspector(), server: { hostname: "127.0.0.1", port: WORKER_PORT }, watch: false, logLevel: "warn" },
  // Over wrangler.toml's vars and .dev.vars: this stack's runtime, its secret, the dev key.
  bindings: {
    RUNTIME_URL: { type: "plain_text", value: `http://127.0.0.1:${RUNTIME_PORT}` },
    HMAC_SECRET: { type: "secret_text", value: SECRET },
    API_KEYS: { type: "secret_text", value: apiKeys },
  },
});
stopWorker = () => worker.dispose();
await worker.ready;
const base = `http://127.0.0.1:${WORKER_PORT}`;
await waitForHealth(`${base}/v1/health`, 120_000);
process.stdout.write(`
threadbox is running: ${base}  (runtime on 127.0.0.1:${RUNTIME_PORT}, workspaces in .data/r2/threadbox/threads)
Development API key (tenant "dev"): ${key}

  export THREADBOX=${base} KEY=${key}
  curl -s -X POST $THREADBOX/v1/threads -H "Authorization: Bearer $KEY" -H 'content-type: application/json' -d '{"id":"demo"}'
  curl -s -X POST $THREADBOX/v1/threads/demo/run_python -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \\
       -d '{"code":"import sys\\nprint(sys.version)"}'

Ctrl-C stops everything.
`);
