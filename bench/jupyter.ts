import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { within } from "./measure.ts";

/** The Jupyter baseline: jupyter_driver.py holding a real IPython kernel, driven one JSON line at a time. */
export interface JupyterKernel {
  /** Kernel start-up as the driver measured it, ms. */
  startMs: number;
  /** One cell's round trip as the driver measured it (execute_request → reply and idle), ms. */
  run(code: string): Promise<number>;
  stop(): Promise<void>;
}

const DRIVER = path.join(path.dirname(fileURLToPath(import.meta.url)), "jupyter_driver.py");

export async function startJupyter(pythonBin: string): Promise<JupyterKernel> {
  const child = spawn(pythonBin, [DRIVER], {
    stdio: ["pipe", "pipe", "pipe"],
    // The kernel spec names /usr/bin/python3; a pyenv or venv python3 first on PATH must not stand in for it.
    env: { ...process.env, PATH: `/usr/bin:/bin:${process.env.PATH ?? ""}`, PYTHONUNBUFFERED: "1" },
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (what: string) => {
    const line = await within(60_000, what, lines.next());
    if (line.done) throw new Error(`jupyter driver exited (${what}): ${stderr}`);
    return JSON.parse(line.value) as { ready?: boolean; start_ms?: number; ms?: number; status?: string };
  };
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const ready = await next("kernel start");
    return {
      startMs: ready.start_ms ?? Number.NaN,
      async run(code) {
        child.stdin.write(`${JSON.stringify({ cmd: "run", code })}\n`);
        const out = await next(`cell ${code}`);
        if (out.status !== "ok" || out.ms === undefined) throw new Error(`jupyter cell ${code} failed: ${JSON.stringify(out)}`);
        return out.ms;
      },
      async stop() {
        child.stdin.end(`${JSON.stringify({ cmd: "quit" })}\n`);
        await within(15_000, "jupyter shutdown", exited).catch(() => child.kill("SIGKILL"));
      },
    };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}
