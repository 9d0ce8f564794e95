import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ExecResult } from "../../shared/src/index.ts";
import { loadConfig } from "../../runtime-container/src/config.ts";
import { findMount, parseMountinfo } from "../../runtime-container/src/storage/mountinfo.ts";
import { bucketFixture, forceUnmount, s3fsPids } from "./bucket.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

// STORAGE_MODE=mount for real: s3rver on loopback stands in for R2, s3fs from Debian mounts it, and the runtime
// keeps its workspaces there. Files survive a restart and a remount and are objects in the bucket; a lost mount is
// STORAGE_UNAVAILABLE (never a crash or a hang) until the storage is back and the runtime has remounted it.

const BUCKET = "tbx-test";
const TENANT = "acme";
const fx = bucketFixture(BUCKET);
const runtimes: RuntimeProcess[] = [];

afterAll(async () => {
  for (const rt of runtimes) await rt.stop().catch(() => undefined);
});

function storageEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...fx.env(),
    WORKSPACES_ROOT: "", // unset: <mount>/threads
    STORAGE_PROBE_INTERVAL_S: "2",
    // Generous: s3rver shares this busy machine's CPU with the test itself (a probe that never returns still ends).
    STORAGE_PROBE_TIMEOUT_S: "15",
    STORAGE_RETRY_MAX_S: "2",
    ...extra,
  };
}

async function runtime(extra: Record<string, string> = {}): Promise<RuntimeProcess> {
  const rt = await startRuntime(storageEnv(extra), { root: fx.root });
  runtimes.push(rt);
  return rt;
}

const exec = (rt: RuntimeProcess, thread: string, command: string) =>
  rt.json<ExecResult>("POST", `/threads/${TENANT}/${thread}/exec`, { command, timeout: 60 });

/** Polls /health (bounded) until the storage reports `ok`. */
async function storageOk(rt: RuntimeProcess, ok: boolean): Promise<Record<string, unknown>> {
  let last = "";
  for (let i = 0; i < 120; i++) {
    const res = await rt.call("GET", "/health");
    const body = (await res.json()) as { storage: Record<string, unknown> };
    if (body.storage.ok === ok) return body.storage;
    last = JSON.stringify(body.storage);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`storage never became ok=${ok}: ${last}\n${rt.logs().slice(-4000)}`);
}

describe("workspaces on the bucket mount", () => {
  it("keeps a thread's files, exec bits and symlinks in the bucket across a restart and a fresh mount", async () => {
    const rt = await runtime();
    const health = await rt.json<{ storage: Record<string, unknown> }>("GET", "/health");
    expect(health.storage).toMatchObject({ mode: "mount", ok: true, mount_dir: fx.mountDir, mounted_by: "runtime" });
    expect(findMount(fx.mountDir)?.fstype).toBe("fuse.s3fs");

    const put = await rt.call("PUT", `/threads/${TENANT}/t1/files/notes/hello.txt`, { raw: "hello bucket" });
    expect(put.status, await put.text()).toBe(201);
    const made = await exec(rt, "t1", "printf '#!/bin/sh\\necho run-me\\n' > tool.sh && chmod 755 tool.sh && ln -s notes/hello.txt link.txt");
    expect(made.exit_code, made.stderr).toBe(0);

    const keys = await fx.bucket.keys(`threads/${TENANT}/t1/`);
    const prefix = `threads/${TENANT}/t1/`;
    for (const rel of ["notes/hello.txt", "tool.sh", "link.txt", ".threadbox/workspace.json", "pyproject.toml"]) {
      expect(keys).toContain(prefix + rel);
    }
    // The venv stays on local disk (rebuilt from the manifest): nothing of it is in the bucket.
    expect(keys.filter((k) => k.includes("/.venv/"))).toEqual([]);
    expect(await fx.bucket.object(`${prefix}notes/hello.txt`)).toBe("hello bucket");

    // A new container: the server stops, the mount goes away, a new server mounts the bucket afresh.
    await rt.stop();
    await forceUnmount(fx.mountDir);
    expect(findMount(fx.mountDir)).toBeNull();
    const rt2 = await runtime();
    const file = await rt2.call("GET", `/threads/${TENANT}/t1/files/notes/hello.txt`);
    expect(await file.text()).toBe("hello bucket");
    const after = await exec(rt2, "t1", "./tool.sh && readlink link.txt && cat link.txt && echo && stat -c %a tool.sh");
    expect(after.exit_code, after.stderr).toBe(0);
    expect(after.stdout.split("\n")).toEqual(["run-me", "notes/hello.txt", "hello bucket", "755", ""]);
  });

  it("lets no storage credential reach a sandbox or stay on disk", async () => {
    const rt = runtimes.at(-1) as RuntimeProcess;
    const out = await exec(rt, "t1", "env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n'; cat /proc/mounts");
    expect(out.stdout).not.toContain(fx.bucket.secretAccessKey);
    expect(out.stdout).not.toContain(fx.bucket.accessKeyId);
    expect(out.stdout).not.toMatch(/R2_/);
    // s3fs read its credentials file once at start; it is gone, and nothing under STATE_DIR holds the secret.
    const storageState = path.join(fx.root, "state", "storage");
    expect((await readdir(storageState)).filter((f) => f.endsWith(".passwd"))).toEqual([]);
    for (const name of await readdir(storageState)) {
      expect(await readFile(path.join(storageState, name), "utf8")).not.toContain(fx.bucket.secretAccessKey);
    }
  });

  it("answers STORAGE_UNAVAILABLE while the mount is lost, then remounts and recovers", async () => {
    const rt = runtimes.at(-1) as RuntimeProcess;
    const pid = rt.child.pid;
    await storageOk(rt, true);
    const ctx = await rt.json<{ id: string }>("POST", `/threads/${TENANT}/t1/contexts`, { language: "python" }, 201);
    await rt.json("POST", `/threads/${TENANT}/t1/contexts/${ctx.id}/run`, { code: "x = 41" });
    // A run writing to the workspace when the storage goes away: it must end, with an honest failure.
    const running = rt.call("POST", `/threads/${TENANT}/t1/exec`, {
      body: { command: "set -e; for i in $(seq 1 300); do echo $i > counter.txt; sleep 0.1; done", timeout: 60 },
    });
    // And one that never touches the workspace, so would end well: it is stopped too (it runs rooted in the lost
    // mount, and proot would resolve its next path in whatever is mounted there next) and must not answer success.
    const sleeping = rt.call("POST", `/threads/${TENANT}/t1/exec`, {
      body: { command: "for i in $(seq 1 300); do sleep 0.1; done", timeout: 60 },
    });
    await new Promise((r) => setTimeout(r, 1500));
    await fx.bucket.stop();
    const daemons = await s3fsPids(fx.mountDir);
    expect(daemons.length).toBeGreaterThan(0);
    for (const daemon of daemons) process.kill(daemon, "SIGKILL");

    // Either the run itself failed (its writes hit the dead mount) or the platform said why: never a fake success.
    const interrupted = await running;
    const body = (await interrupted.json()) as { exit_code?: number; error?: { code: string } };
    if (interrupted.status === 200) expect(body.exit_code, JSON.stringify(body)).not.toBe(0);
    else expect([interrupted.status, body.error?.code]).toEqual([503, "STORAGE_UNAVAILABLE"]);
    const stopped = await sleeping;
    expect([stopped.status, ((await stopped.json()) as { error?: { code: string } }).error?.code]).toEqual([503, "STORAGE_UNAVAILABLE"]);

    const refused = await rt.call("POST", `/threads/${TENANT}/t1/exec`, { body: { command: "true" } });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("STORAGE_UNAVAILABLE");
    const read = await rt.call("GET", `/threads/${TENANT}/t1/files/notes/hello.txt`);
    expect(read.status).toBe(503);
    expect(((await read.json()) as { error: { code: string } }).error.code).toBe("STORAGE_UNAVAILABLE");
    const down = await rt.call("GET", "/health");
    expect(down.status).toBe(503);

    await fx.bucket.start();
    const back = await storageOk(rt, true);
    expect(back.recoveries).toBeGreaterThanOrEqual(1);
    const file = await rt.call("GET", `/threads/${TENANT}/t1/files/notes/hello.txt`);
    expect(await file.text()).toBe("hello bucket");
    const again = await exec(rt, "t1", "cat notes/hello.txt && ./tool.sh");
    expect(again.stdout).toBe("hello bucketrun-me\n");
    // The context's interpreter was rooted in the lost mount: it was stopped, and its next cell says so.
    const cell = await rt.json<{ ok: boolean; state: string; result: Record<string, string> | null }>(
      "POST",
      `/threads/${TENANT}/t1/contexts/${ctx.id}/run`,
      { code: "import os\nlen(os.listdir('/notes'))" },
    );
    expect(cell).toMatchObject({ ok: true, state: "restarted", result: { "text/plain": "1" } });
    expect(rt.child.pid).toBe(pid);
    expect(rt.child.exitCode).toBeNull();
  }, 150_000);

  it("is not held up by a hung mount: calls end STORAGE_UNAVAILABLE and the mount is replaced", async () => {
    // A new server adopts the mount the previous one left (as it adopts the image entrypoint's mount).
    await (runtimes.at(-1) as RuntimeProcess).stop();
    const rt = await runtime({ STORAGE_PROBE_TIMEOUT_S: "4" });
    await storageOk(rt, true);
    const [hung] = await s3fsPids(fx.mountDir);
    expect(hung).toBeDefined();
    process.kill(hung as number, "SIGSTOP"); // alive but answering nothing: every FUSE request waits
    try {
      const read = rt.call("GET", `/threads/${TENANT}/t1/files/notes/hello.txt`);
      const health = await rt.call("GET", "/health"); // the server itself keeps answering meanwhile
      expect([200, 503]).toContain(health.status);
      const res = await read;
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("STORAGE_UNAVAILABLE");
      await storageOk(rt, true);
    } finally {
      try {
        process.kill(hung as number, "SIGCONT");
      } catch {
        // the runtime ended it, as it should
      }
    }
    expect(await s3fsPids(fx.mountDir)).not.toContain(hung);
    const file = await rt.call("GET", `/threads/${TENANT}/t1/files/notes/hello.txt`);
    expect(await file.text()).toBe("hello bucket");
  }, 150_000);
});

describe("storage configuration", () => {
  // The runtime has no default HMAC secret; these cases are about storage.
  const secret = { HMAC_SECRET: "storage-config-test-secret" };
  const mount = { ...secret, STORAGE_MODE: "mount", R2_BUCKET: "threadbox", STATE_DIR: "/srv/threadbox/state" };
  const creds = { R2_ENDPOINT: "https://acct.r2.cloudflarestorage.com", R2_ACCESS_KEY_ID: "id", R2_SECRET_ACCESS_KEY: "secret" };

  it("puts workspaces on the bucket and keeps the credentials out of the top-level config", () => {
    const c = loadConfig({ ...mount, ...creds });
    expect(c.WORKSPACES_ROOT).toBe("/mnt/r2/threadbox/threads");
    expect(c.storage).toMatchObject({ mode: "mount", mountDir: "/mnt/r2/threadbox", mountBy: "runtime", region: "auto" });
    expect(c.storage.mode === "mount" && c.storage.credentials).toEqual({ accessKeyId: "id", secretAccessKey: "secret" });
    expect(Object.keys(c).filter((k) => k.startsWith("R2_") && k !== "R2_BUCKET" && k !== "R2_ENDPOINT" && k !== "R2_REGION")).toEqual([]);
    expect(loadConfig(secret).storage).toEqual({ mode: "local" });
  });

  it("names what is missing or unsafe", () => {
    expect(() => loadConfig({ ...secret, STORAGE_MODE: "mount" })).toThrow(/R2_BUCKET[\s\S]*R2_ENDPOINT[\s\S]*R2_SECRET_ACCESS_KEY/);
    expect(loadConfig({ ...mount, STORAGE_MOUNT_BY: "external" }).storage).toMatchObject({ credentials: null });
    expect(() => loadConfig({ ...mount, ...creds, WORKSPACES_ROOT: "/data/threads" })).toThrow(/WORKSPACES_ROOT: must be inside/);
    expect(() => loadConfig({ ...mount, ...creds, STATE_DIR: "/mnt/r2/threadbox/state" })).toThrow(/STATE_DIR: must be local disk/);
    expect(() => loadConfig({ ...mount, ...creds, STATE_DIR: "/var/lib/threadbox" })).toThrow(/STATE_DIR: must not be under \/var/);
    expect(() => loadConfig({ ...mount, ...creds, R2_BUCKET: "Not_A_Bucket" })).toThrow(/R2_BUCKET/);
  });

  it("reads mount points the way the kernel escapes them", () => {
    const line = "42 27 0:39 / /mnt/r2/my\\040bucket rw,nosuid,nodev shared:1 - fuse.s3fs s3fs rw,user_id=0";
    expect(parseMountinfo(line)).toEqual([{ mountPoint: "/mnt/r2/my bucket", fstype: "fuse.s3fs", source: "s3fs" }]);
  });
});
