import { chown, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { findMount } from "../../runtime-container/src/storage/mountinfo.ts";
import { bucketFixture, s3fsPids } from "./bucket.ts";
import { TEST_SECRET } from "./harness.ts";

// runtime-container/entrypoint.sh outside Docker (no engine here): the same script the image runs, pointed at an
// s3rver bucket and a temp mount point, with a harmless command in place of the server.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SCRIPT = path.join(REPO, "runtime-container/entrypoint.sh");
const BUCKET = "tbx-entry";
const NOBODY = 65534;
const fx = bucketFixture(BUCKET);

function entrypoint(args: string[], env: Record<string, string>) {
  return execa("sh", [SCRIPT, ...args], {
    cwd: os.tmpdir(), // the script finds the runtime from its own location
    reject: false,
    timeout: 120_000,
    extendEnv: false,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HMAC_SECRET: TEST_SECRET, LOG_LEVEL: "warn", ...env },
  });
}

const mountEnv = (extra: Record<string, string> = {}) => ({
  ...fx.env(),
  STATE_DIR: path.join(fx.root, "state"),
  ...extra,
});

describe("the image entrypoint", () => {
  it("--check mounts the bucket and runs the self-test, then exits without starting anything", async () => {
    const r = await entrypoint(["--check", "sh", "-c", "echo started"], mountEnv());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("started");
    const report = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as { ok: boolean; storage: Record<string, unknown> };
    expect(report).toMatchObject({ ok: true, storage: { mode: "mount", ok: true, mount_dir: fx.mountDir } });
    expect(findMount(fx.mountDir)?.fstype).toBe("fuse.s3fs");
  });

  it("adopts the working mount and starts the command without the storage credentials", async () => {
    const before = await s3fsPids(fx.mountDir);
    const r = await entrypoint(["sh", "-c", "env; echo started"], mountEnv({ STORAGE_MOUNT_BY: "external" }));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("started");
    expect(r.stdout).not.toContain(fx.bucket.secretAccessKey);
    expect(r.stdout).not.toMatch(/^R2_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)=/m);
    expect(await s3fsPids(fx.mountDir)).toEqual(before);
  });

  it("runs a non-root server as THREADBOX_USER, owning what it writes on the mount", async () => {
    const state = path.join(fx.root, "state-nobody");
    await mkdir(state, { mode: 0o711 });
    await chown(state, NOBODY, NOBODY);
    const env = mountEnv({ THREADBOX_USER: "nobody", STATE_DIR: state, ALLOW_DEGRADED_ISOLATION: "1" });
    const r = await entrypoint(["sh", "-c", "id -u; env"], env);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split("\n")).toContain(String(NOBODY));
    expect(r.stdout).not.toContain(fx.bucket.secretAccessKey);
  });

  it("stops before the server when the storage configuration is incomplete", async () => {
    const r = await entrypoint(["sh", "-c", "echo started"], { STORAGE_MODE: "mount", STATE_DIR: path.join(fx.root, "state") });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/R2_BUCKET/);
    expect(r.stdout).not.toContain("started");
  });

  it("stops with the storage's own reason when the credentials are refused", async () => {
    const wrongDir = path.join(fx.root, "mnt", "refused");
    const r = await entrypoint(["sh", "-c", "echo started"], mountEnv({ R2_ACCESS_KEY_ID: "nobody-knows-me", STORAGE_MOUNT_DIR: wrongDir }));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/InvalidAccessKeyId|invalid credentials/);
    expect(r.stdout).not.toContain("started");
    expect(findMount(wrongDir)).toBeNull();
  });
});
