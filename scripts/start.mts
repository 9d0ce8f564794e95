/**
 * `npm start`: the whole local stack on embedded defaults — a runtime on loopback (workspaces in .data/r2/...) and
 * the worker in workerd via `wrangler dev`, pointed at it. Ctrl-C stops both.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { LOCAL_DEV_SECRET } from "../shared/src/index.ts";

const RUNTIME_PORT = process.env.PORT ?? "8788";
const WORKER_PORT = process.env.WORKER_PORT ?? "8787";
const SECRET = process.env.HMAC_SECRET ?? LOCAL_DEV_SECRET;
const children: ChildProcess[] = [];

function start(name: string, cmd: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<void> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      for (const line of d.toString().split("\n")) if (line.trim()) process.stderr.write(`[${name}] ${line}\n`);
      if (ready.test(d.toString())) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      reject(new Error(`${name} exited with ${code}`));
      shutdown(code ?? 1);
    });
  });
}

function shutdown(code: number): void {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  setTimeout(() => process.exit(code), 500).unref();
}
process.once("SIGINT", () => shutdown(0));
process.once("SIGTERM", () => shutdown(0));

await start("runtime", process.execPath, ["--import", "tsx", "runtime-container/src/main.ts"], { PORT: RUNTIME_PORT, HMAC_SECRET: SECRET }, /listening on/);
await start(
  "worker",
  "npx",
  ["--no-install", "wrangler", "dev", "--ip", "127.0.0.1", "--port", WORKER_PORT, "--var", `RUNTIME_URL:http://127.0.0.1:${RUNTIME_PORT}`, "--var", `HMAC_SECRET:${SECRET}`],
  { WRANGLER_SEND_METRICS: "false", CI: "1" },
  /Ready on/,
);
process.stdout.write(`
threadbox is running locally.
  worker (public API):   http://127.0.0.1:${WORKER_PORT}     try: curl http://127.0.0.1:${WORKER_PORT}/v1/health
  runtime (internal):    http://127.0.0.1:${RUNTIME_PORT}    try: node --import tsx scripts/runtime-call.mts POST /threads/demo/t1/exec '{"command":"echo hi"}'
Ctrl-C stops both.
`);
