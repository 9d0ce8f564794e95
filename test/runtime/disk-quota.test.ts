import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DiskUsage, type ExecResult, ExecResultSchema, type RuntimeDisk } from "../../shared/src/index.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

/*
 * The per-thread disk quota through the runtime's API (real runtime, proot): a thread over its quota starts nothing
 * and takes no upload (507 DISK_QUOTA_EXCEEDED), a run that takes it over is stopped and says so, another thread is
 * not affected, and deleting files brings the thread back. The hostile programs run under proot and bwrap in
 * test/security/disk-quota.test.ts.
 */
const MIB = 2 ** 20;
const QUOTA_MB = 16;
let rt: RuntimeProcess;

beforeAll(async () => {
  rt = await startRuntime({ THREAD_DISK_MB: String(QUOTA_MB), THREAD_INODES: "2000" });
});
afterAll(async () => {
  await rt?.stop();
});

const thread = (id: string) => `/threads/acme/${id}`;

async function exec(id: string, body: Record<string, unknown>): Promise<{ status: number; result: ExecResult | null; text: string }> {
  const res = await rt.call("POST", `${thread(id)}/exec`, { body: { timeout: 60, ...body } });
  const text = await res.text();
  return { status: res.status, result: res.status === 200 ? ExecResultSchema.parse(JSON.parse(text)) : null, text };
}

/** Files of 256 KiB, each far under the file-size limit, one every 20 ms: only the watchdog can stop this. */
const MANY_FILES = `
import sys, time
for i in range(400):
    with open("/f%03d.bin" % i, "wb") as f:
        f.write(b"x" * 262144)
    print(i, flush=True)
    time.sleep(0.02)
print("finished", flush=True)
`;

describe("per-thread disk quota", () => {
  it("stops a run writing many small files, refuses the thread's next calls, and lets it run again once files are deleted", async () => {
    await rt.json("POST", thread("qa"), {});
    await rt.json("POST", thread("qb"), {});
    const running = exec("qa", { command: "python3 -", stdin: MANY_FILES });
    // Once the run is writing, another thread writes 4 MiB: its own quota, untouched by this one.
    const dir = path.join(rt.workspaces, "acme", "qa");
    for (let i = 0; i < 300 && !existsSync(path.join(dir, "f001.bin")); i++) await new Promise((r) => setTimeout(r, 50));
    const other = await exec("qb", { command: "head -c 4194304 /dev/zero > /w.bin && stat -c %s /w.bin" });
    expect(other.result, other.text).toMatchObject({ exit_code: 0, stdout: "4194304\n" });

    const { result, text } = await running;
    expect(result, text).toMatchObject({ disk_quota_exceeded: true, timed_out: false, canceled: false, exit_code: 137, signal: "SIGKILL" });
    expect(result?.stdout).not.toMatch(/finished/);
    expect(result?.stderr).toMatch(/the run was stopped: thread qa went over its disk quota: .* of its 16\.0 MiB/);
    expect(result?.stderr).toMatch(/DELETE \/v1\/threads\/qa\/files\/<path>/);

    // Over its quota, the thread starts nothing: exec, run_python and installs alike, and takes no upload.
    for (const [route, body] of [
      ["exec", { command: "echo hi" }],
      ["run_python", { code: "print(1)" }],
      ["packages", { packages: ["six"] }],
    ] as const) {
      const res = await rt.call("POST", `${thread("qa")}/${route}`, { body });
      const refused = (await res.json()) as { error: { code: string; message: string; details: Record<string, number> } };
      expect(res.status, JSON.stringify(refused)).toBe(507);
      expect(refused.error.code).toBe("DISK_QUOTA_EXCEEDED");
      expect(refused.error.message).toMatch(/was not started: thread qa is at its disk quota/);
      expect(refused.error.details.limit_bytes).toBe(QUOTA_MB * MIB);
      expect(refused.error.details.used_bytes).toBeGreaterThan(QUOTA_MB * MIB);
    }
    const put = await rt.call("PUT", `${thread("qa")}/files/note.txt`, { raw: "hello" });
    expect(put.status).toBe(507);
    expect((await rt.call("GET", `${thread("qa")}/files/note.txt`)).status).toBe(404);

    // The thread's info and the runtime's health say so.
    const info = await rt.json<{ disk: DiskUsage }>("GET", thread("qa"));
    expect(info.disk).toMatchObject({ over_quota: true, quota_bytes: QUOTA_MB * MIB, quota_inodes: 2000, complete: true });
    expect(info.disk.parts.workspace.bytes).toBeGreaterThan(QUOTA_MB * MIB);
    const health = await rt.json<{ disk: RuntimeDisk }>("GET", "/health");
    expect(health.disk.quota).toEqual({ bytes: QUOTA_MB * MIB, inodes: 2000 });
    expect(health.disk.tenants.acme?.over_quota).toBeGreaterThanOrEqual(1);
    expect(health.disk.total.bytes).toBeGreaterThanOrEqual(info.disk.bytes);

    // The other thread is not refused.
    expect((await exec("qb", { command: "echo still" })).result?.stdout).toBe("still\n");

    // Deleting files through the files API brings the thread back.
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".bin"))) {
      expect((await rt.call("DELETE", `${thread("qa")}/files/${name}`)).status).toBe(200);
    }
    const again = await exec("qa", { command: "echo back" });
    expect(again.result, again.text).toMatchObject({ exit_code: 0, stdout: "back\n" });
    expect(again.result?.disk_quota_exceeded).toBeUndefined();
    expect((await rt.json<{ disk: DiskUsage }>("GET", thread("qa"))).disk.over_quota).toBe(false);
  });

  it("caps one file at what is left of the quota (EFBIG inside the run); the thread stays usable", async () => {
    await rt.json("POST", thread("qc"), {});
    const fill = `
import errno
written, failure = 0, None
with open("/big.bin", "wb", buffering=0) as f:
    for _ in range(64):
        try:
            f.write(b"\\0" * 2**20)
        except OSError as e:
            failure = errno.errorcode.get(e.errno)
            break
        written += 1
print("wrote", written, "MiB then", failure, flush=True)
`;
    const { result, text } = await exec("qc", { command: "python3 -", stdin: fill });
    expect(result?.stdout, text).toMatch(/then EFBIG/);
    expect(Number(/wrote (\d+)/.exec(result?.stdout ?? "")?.[1])).toBeLessThan(QUOTA_MB);
    const next = await exec("qc", { command: "echo ok" });
    expect(next.result?.stdout, next.text).toBe("ok\n");
  });

  it("refuses an upload that would go over the quota, before writing it", async () => {
    const first = await rt.call("PUT", `${thread("qd")}/files/one.bin`, { raw: new Uint8Array(10 * MIB) });
    expect(first.status, await first.text()).toBe(201);
    const second = await rt.call("PUT", `${thread("qd")}/files/two.bin`, { raw: new Uint8Array(10 * MIB) });
    const body = (await second.json()) as { error: { code: string; message: string } };
    expect(second.status).toBe(507);
    expect(body.error.code).toBe("DISK_QUOTA_EXCEEDED");
    expect(body.error.message).toMatch(/writing two\.bin \(10485760 bytes\) was refused/);
    expect(existsSync(path.join(rt.workspaces, "acme", "qd", "two.bin"))).toBe(false);
    // What fits is still taken.
    expect((await rt.call("PUT", `${thread("qd")}/files/small.txt`, { raw: "fits" })).status).toBe(201);
  });
});
