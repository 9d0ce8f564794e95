import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunPythonResponse, RunPythonResponseSchema } from "../../shared/src/index.ts";
import { contextClient } from "./context-client.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

/*
 * The disk quota for what runs.ts's watchdog did not see before: a context's interpreter (admitted at each start,
 * watched for its life, stopped when its thread goes over), and the files the runtime itself writes for a request
 * (run_python's `files` and script, run_code's module), reserved before a byte is written. A 16 MiB quota.
 */
const QUOTA_MB = 16;
const MIB = 2 ** 20;
let rt: RuntimeProcess;
const contexts = contextClient(() => rt);

beforeAll(async () => {
  rt = await startRuntime({ THREAD_DISK_MB: String(QUOTA_MB), THREAD_INODES: "2000" });
});
afterAll(async () => {
  await rt?.stop();
});

const threadPath = (t: string) => `/threads/acme/${t}`;
const newThread = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}`;

/** 256 KiB files under /fill, one every 20 ms, far under the file-size limit: only the watchdog can stop this. */
const FILL = `
import os, time
os.makedirs("/fill", exist_ok=True)
for i in range(400):
    with open("/fill/f%03d.bin" % i, "wb") as f:
        f.write(b"x" * 262144)
    time.sleep(0.02)
print("finished", flush=True)
`;

async function post(t: string, route: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await rt.call("POST", `${threadPath(t)}/${route}`, { body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("disk quota for contexts", () => {
  it("stops a context's interpreter that takes its thread over: the cell says why; the next one starts afresh once there is room", async () => {
    const t = newThread("ctxq");
    await rt.json("POST", threadPath(t), {});
    const ctx = await contexts.create(t);
    expect(await contexts.value(t, ctx.id, "kept = 1\nkept")).toBe("1");
    const cell = await contexts.run(t, ctx.id, FILL, 120);
    expect(cell, JSON.stringify(cell)).toMatchObject({ ok: false, state: "restarted", error: { type: "DiskQuotaExceeded" } });
    expect(cell.stdout).not.toMatch(/finished/);
    expect(cell.stderr).toMatch(new RegExp(`threadbox: the run was stopped: thread ${t} went over its disk quota: .* of its 16\\.0 MiB`));
    expect((await contexts.info(t, ctx.id)).status).toBe("dead");

    // Over its quota, the interpreter is not started again: the cell is refused.
    const refused = await contexts.runCall(t, ctx.id, "1");
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(refused.status, JSON.stringify(body)).toBe(507);
    expect(body.error).toMatchObject({ code: "DISK_QUOTA_EXCEEDED" });
    expect(body.error.message).toMatch(/the context's interpreter was not started: thread .* is at its disk quota/);

    // Room again: a fresh interpreter (its state lost, and said so).
    expect((await rt.call("DELETE", `${threadPath(t)}/files/fill?recursive=1`)).status).toBe(200);
    const fresh = await contexts.run(t, ctx.id, "'kept' in globals()");
    expect(fresh).toMatchObject({ ok: true, state: "restarted", result: { "text/plain": "False" } });
  });

  it("stops an idle context whose background writer takes the thread over; its next cell hears why", async () => {
    const t = newThread("ctxbg");
    await rt.json("POST", threadPath(t), {});
    const ctx = await contexts.create(t);
    const background = `import threading\ndef fill():\n${FILL.replace(/^/gm, "    ")}\nthreading.Thread(target=fill, daemon=True).start()\n"started"`;
    expect(await contexts.value(t, ctx.id, background)).toBe("'started'");
    let status = (await contexts.info(t, ctx.id)).status;
    for (let i = 0; i < 600 && status !== "dead"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await contexts.info(t, ctx.id)).status;
    }
    expect(status).toBe("dead");
    expect((await rt.call("DELETE", `${threadPath(t)}/files/fill?recursive=1`)).status).toBe(200);
    const next = await contexts.run(t, ctx.id, "print('again')");
    expect(next, JSON.stringify(next)).toMatchObject({ ok: true, state: "restarted" });
    expect(next.stderr).toMatch(/threadbox: the run was stopped: thread .* went over its disk quota/);
    expect(next.stdout).toBe("again\n");
    // Said once.
    expect((await contexts.run(t, ctx.id, "1")).stderr).toBe("");
  });

  it("refuses to start a context in a thread over its quota (507)", async () => {
    const t = newThread("ctxfull");
    await rt.json("POST", threadPath(t), {});
    const filled = await post(t, "exec", { command: "python3 -", stdin: FILL, timeout: 60 });
    expect(filled.json, JSON.stringify(filled.json)).toMatchObject({ disk_quota_exceeded: true });
    const res = await rt.call("POST", `${threadPath(t)}/contexts`, { body: {} });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status, JSON.stringify(body)).toBe(507);
    expect(body.error.message).toMatch(/the context's interpreter was not started/);
  });
});

describe("disk quota for run_python's response and the request's files", () => {
  it("says a run_python stopped by the quota was: disk_quota_exceeded in the metadata and a line in the text", async () => {
    const t = newThread("pyq");
    const { status, json } = await post(t, "run_python", { code: FILL, timeout: 60 });
    expect(status).toBe(200);
    const out: RunPythonResponse = RunPythonResponseSchema.parse(json);
    expect(out.is_error).toBe(true);
    expect(out.metadata, out.text).toMatchObject({ disk_quota_exceeded: true, error_type: "DiskQuotaExceeded", timed_out: false });
    expect(out.metadata.error_code).not.toBe("MEMORY_ERROR");
    expect(out.text).toMatch(/went over its disk quota \(DISK_QUOTA_EXCEEDED\)/);
  });

  it("refuses run_python's files that would take the thread over its quota, before writing any", async () => {
    const t = newThread("filesq");
    const big = "x".repeat(6 * MIB);
    const files = { "a.txt": big, "b.txt": big, "c.txt": big };
    const { status, json } = await post(t, "run_python", { code: "print('ran')", files });
    expect(status, JSON.stringify(json).slice(0, 500)).toBe(507);
    expect(json).toMatchObject({ error: { code: "DISK_QUOTA_EXCEEDED" } });
    expect(String((json.error as { message: string }).message)).toMatch(/writing the request's files was refused/);
    for (const name of Object.keys(files)) expect(existsSync(path.join(rt.workspaces, "acme", t, name))).toBe(false);
    // Files that fit are written (and the code runs) as before.
    const ok = await post(t, "run_python", { code: "print(open('a.txt').read())", files: { "a.txt": "small" } });
    expect(RunPythonResponseSchema.parse(ok.json).metadata.stdout).toBe("small\n");
  });

  it("refuses run_code's module when it would take the thread over its quota", async () => {
    const t = newThread("codeq");
    // 15.5 MiB in one upload (under the quota), then a module of almost 1 MB.
    const put = await rt.call("PUT", `${threadPath(t)}/files/ballast.bin`, { raw: new Uint8Array(15.5 * MIB) });
    expect(put.status).toBe(201);
    const code = `// ${"x".repeat(900_000)}\nconsole.log("ran")`;
    const { status, json } = await post(t, "run_code", { language: "javascript", code });
    expect(status, JSON.stringify(json).slice(0, 500)).toBe(507);
    expect(String((json.error as { message: string }).message)).toMatch(/writing the request's files was refused/);
    // Under the quota again, the module is written and run.
    expect((await rt.call("DELETE", `${threadPath(t)}/files/ballast.bin`)).status).toBe(200);
    const ok = await post(t, "run_code", { language: "javascript", code });
    expect(ok.json, JSON.stringify(ok.json).slice(0, 500)).toMatchObject({ exit_code: 0, stdout: "ran\n" });
  });
});
