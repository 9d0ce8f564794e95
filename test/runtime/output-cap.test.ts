import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ExecResult, ExecResultSchema } from "../../shared/src/index.ts";
import { processesMatching, type RuntimeProcess, startRuntime } from "./harness.ts";

// R13–R15: stdout and stderr share one byte budget; hitting it stops the run at once (not at its timeout),
// and whatever bytes the program wrote, the response is valid UTF-8 JSON.

const CAP = 65_536;
const TENANT = "acme";
let rt: RuntimeProcess;
let serverPid: number | undefined;

beforeAll(async () => {
  rt = await startRuntime({ MAX_OUTPUT_BYTES: String(CAP) });
  serverPid = rt.child.pid;
});
afterAll(async () => {
  await rt?.stop();
});
afterEach(async () => {
  expect(rt.child.exitCode, `the runtime exited:\n${rt.logs()}`).toBeNull();
  expect(rt.child.pid).toBe(serverPid);
  expect(await rt.json("GET", "/health")).toMatchObject({ ok: true });
});

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

async function exec(command: string, timeout = 30): Promise<{ result: ExecResult; wallMs: number }> {
  const started = performance.now();
  const result = await rt.json<ExecResult>("POST", `/threads/${TENANT}/oc-${randomUUID()}/exec`, { command, timeout });
  return { result, wallMs: performance.now() - started };
}

describe("output cap", () => {
  it("stops an endless writer at the cap, promptly, and flags it", async () => {
    const marker = `marker-${randomUUID()}`;
    const { result, wallMs } = await exec(`yes ${marker}`);
    expect(result).toMatchObject({ truncated: true, timed_out: false });
    expect(wallMs).toBeLessThan(10_000);
    expect(bytes(result.stdout)).toBeLessThanOrEqual(CAP);
    expect(result.stdout.startsWith(`${marker}\n${marker}\n`)).toBe(true);
    expect(await processesMatching(marker)).toEqual([]);
  });

  it("counts stdout and stderr together", async () => {
    const kib40 = (ch: string) => `head -c 40960 /dev/zero | tr '\\0' ${ch}`;
    const { result } = await exec(`${kib40("a")}; ${kib40("b")} >&2; sleep 30`);
    expect(result).toMatchObject({ truncated: true, timed_out: false });
    const total = bytes(result.stdout) + bytes(result.stderr);
    expect(total).toBeLessThanOrEqual(CAP);
    // Each stream alone is at most 40 KiB, so more than that proves both were collected under one budget.
    expect(total).toBeGreaterThan(40_960);
    expect(result.stdout).toMatch(/^a*$/);
    expect(result.stderr).toMatch(/^b*$/);
  });

  it("returns output under the cap complete and unflagged", async () => {
    const { result } = await exec("seq 1 5000; seq 1 100 >&2");
    const expected = (n: number) => Array.from({ length: n }, (_, i) => `${i + 1}\n`).join("");
    expect(result).toMatchObject({ exit_code: 0, truncated: false, timed_out: false });
    expect(result.stdout).toBe(expected(5000));
    expect(result.stderr).toBe(expected(100));
  });

  it.each([
    ["over the cap", 100_000, true],
    ["under the cap", 30_000, false],
  ])("answers valid UTF-8 JSON for random bytes %s", async (_name, count, truncated) => {
    const res = await rt.call("POST", `/threads/${TENANT}/oc-${randomUUID()}/exec`, {
      body: { command: `head -c ${count} /dev/urandom`, timeout: 30 },
    });
    expect(res.status).toBe(200);
    const raw = new Uint8Array(await res.arrayBuffer());
    const text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    const result = ExecResultSchema.parse(JSON.parse(text));
    expect(result).toMatchObject({ exit_code: truncated ? expect.any(Number) : 0, truncated, timed_out: false });
    expect(result.stdout.length).toBeGreaterThan(0);
  });
});
