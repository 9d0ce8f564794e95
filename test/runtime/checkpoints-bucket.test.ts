import { afterAll, describe, expect, it } from "vitest";
import type { Checkpoint, ExecResult, RestoreResult } from "../../shared/src/index.ts";
import { bucketFixture } from "./bucket.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

// A checkpoint taken and restored with the workspace on the bucket mount (s3rver on loopback standing in for R2,
// s3fs from Debian): its blobs and manifest are objects next to the workspace's, and a restore (a directory rename on
// s3fs, not atomic there) brings back contents, modes and links.

const BUCKET = "tbx-ckpt";
const fx = bucketFixture(BUCKET);
let rt: RuntimeProcess | undefined;

afterAll(async () => {
  await rt?.stop().catch(() => undefined);
});

const exec = (r: RuntimeProcess, command: string) => r.json<ExecResult>("POST", "/threads/acme/b1/exec", { command, timeout: 60 });

describe("checkpoints on the bucket mount", () => {
  it("stores blobs and the manifest in the bucket and restores from them", async () => {
    rt = await startRuntime({ ...fx.env(), WORKSPACES_ROOT: "", STORAGE_PROBE_TIMEOUT_S: "15" }, { root: fx.root });
    const made = await exec(rt, "echo v1 > a.txt && printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod 755 run.sh && ln -s a.txt link");
    expect(made.exit_code, made.stderr).toBe(0);
    const cp = await rt.json<Checkpoint>("POST", "/threads/acme/b1/checkpoints", { label: "bucket" });
    const keys = await fx.bucket.keys("threads/acme/.checkpoints/b1/");
    expect(keys).toContain(`threads/acme/.checkpoints/b1/manifests/${cp.id}.json`);
    expect(keys.filter((k) => k.includes("/blobs/")).length).toBeGreaterThanOrEqual(2);

    const changed = await exec(rt, "echo v2 > a.txt && rm run.sh link && echo new > b.txt");
    expect(changed.exit_code, changed.stderr).toBe(0);
    const r = await rt.json<RestoreResult>("POST", `/threads/acme/b1/checkpoints/${cp.id}/restore`, {});
    expect(r.checkpoint).toBe(cp.id);
    const check = await exec(rt, "cat a.txt; ./run.sh; readlink link; test -e b.txt && echo b-still-there || echo b-gone");
    expect(check.stdout).toBe("v1\nhi\na.txt\nb-gone\n");
    expect(await fx.bucket.object("threads/acme/b1/a.txt")).toBe("v1\n");
  });
});
