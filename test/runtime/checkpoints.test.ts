import { randomUUID } from "node:crypto";
import { lstat, mkdir, readdir, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Checkpoint, CheckpointList, ExecResult, RestoreResult } from "../../shared/src/index.ts";
import { type RuntimeProcess, readEvents, startRuntime } from "./harness.ts";

// Checkpoints on a real runtime under proot and bwrap: taken between runs, restored exactly (added files removed,
// deleted ones back, modes and links kept), deduplicated by content, limited per thread, forked into a new thread.

describe.each(["proot", "bwrap"] as const)("checkpoints under %s", (isolation) => {
  let rt: RuntimeProcess;
  beforeAll(async () => {
    rt = await startRuntime({ ISOLATION: isolation, CHECKPOINT_MAX_COUNT: "3", CHECKPOINT_MAX_MB: "8" });
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const newThread = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
  const exec = (thread: string, command: string) => rt.json<ExecResult>("POST", `/threads/acme/${thread}/exec`, { command });
  const take = (thread: string, label?: string) => rt.json<Checkpoint>("POST", `/threads/acme/${thread}/checkpoints`, label ? { label } : {});
  const restore = (thread: string, id: string) => rt.json<RestoreResult>("POST", `/threads/acme/${thread}/checkpoints/${id}/restore`, {});
  const list = (thread: string) => rt.json<CheckpointList>("GET", `/threads/acme/${thread}/checkpoints`);
  const store = (thread: string) => path.join(rt.workspaces, "acme", ".checkpoints", thread);

  it("restores the workspace exactly: added files go, deleted ones return, modes, links and contents kept", async () => {
    const t = newThread("exact");
    const setup = await exec(t, "mkdir -p d/e && echo one > d/e/f.txt && echo run > run.sh && chmod 750 run.sh && ln -s d/e/f.txt link && chmod 500 d");
    expect(setup.exit_code, setup.stderr).toBe(0);
    const cp = await take(t, "first");
    expect(cp).toMatchObject({ label: "first", skipped: [] });
    expect(cp.id).toMatch(/^ck_[a-f0-9]{24}$/);
    expect(cp.files).toBeGreaterThanOrEqual(6);

    const change = await exec(t, "chmod 700 d && rm d/e/f.txt && echo new > added.txt && echo changed > run.sh && chmod 600 run.sh && rm link && ln -s /etc/passwd link");
    expect(change.exit_code, change.stderr).toBe(0);
    const r = await restore(t, cp.id);
    expect(r).toMatchObject({ checkpoint: cp.id, venv_rebuilt: false });
    // The swapped-in top is the workspace itself: the thread's and private, before any later set-up fixes anything.
    const top = await lstat(path.join(rt.workspaces, "acme", t));
    expect(top.mode & 0o777).toBe(0o700);
    expect(top.uid).toBe((await lstat(path.join(rt.workspaces, "acme", t, "run.sh"))).uid);

    const check = await exec(t, "cat d/e/f.txt; cat run.sh; stat -c %a run.sh d; readlink link; test -e added.txt && echo added-still-there; true");
    expect(check.stdout).toBe("one\nrun\n750\n500\nd/e/f.txt\n");
    // Owned by the thread (not root) so its programs can change what was restored.
    const owner = await exec(t, "stat -c %u run.sh; id -u");
    const [fileUid, myUid] = owner.stdout.trim().split("\n");
    expect(fileUid).toBe(myUid);
  });

  it("stores each content once: a second checkpoint of an unchanged big file adds nothing", async () => {
    const t = newThread("dedup");
    expect((await exec(t, "head -c 2000000 /dev/urandom > big.bin")).exit_code).toBe(0);
    await take(t);
    const one = (await list(t)).stored_bytes;
    expect(one).toBeGreaterThan(2_000_000);
    expect((await exec(t, "echo small > small.txt")).exit_code).toBe(0);
    await take(t);
    const two = await list(t);
    expect(two.checkpoints).toHaveLength(2);
    expect(two.stored_bytes - one).toBeLessThan(1000);
  });

  it("records a file changed behind an unchanged size and mtime (the ctime tells)", async () => {
    const t = newThread("ctime");
    expect((await exec(t, "echo aaaa > same.txt && touch -d '2020-01-01 00:00:00' same.txt")).exit_code).toBe(0);
    await take(t);
    // Same size, mtime put back: only the ctime (which no program can set) shows the change.
    expect((await exec(t, "printf 'bbbb\\n' > same.txt && touch -d '2020-01-01 00:00:00' same.txt")).exit_code).toBe(0);
    const second = await take(t);
    expect((await exec(t, "echo cccc > same.txt")).exit_code).toBe(0);
    await restore(t, second.id);
    expect((await exec(t, "cat same.txt; stat -c %Y same.txt")).stdout).toBe(`bbbb\n${Date.UTC(2020, 0, 1) / 1000}\n`);
  });

  it("deletes a checkpoint and collects the blobs only it used", async () => {
    const t = newThread("gc");
    expect((await exec(t, "head -c 300000 /dev/urandom > a.bin")).exit_code).toBe(0);
    const first = await take(t);
    expect((await exec(t, "rm a.bin && head -c 300000 /dev/urandom > b.bin")).exit_code).toBe(0);
    const second = await take(t);
    const before = (await readdir(path.join(store(t), "blobs"))).length;
    await rt.json("DELETE", `/threads/acme/${t}/checkpoints/${first.id}`);
    const after = await readdir(path.join(store(t), "blobs"));
    expect(after.length).toBe(before - 1);
    expect((await list(t)).checkpoints.map((c) => c.id)).toEqual([second.id]);
    const missing = await rt.call("POST", `/threads/acme/${t}/checkpoints/${first.id}/restore`, { body: {} });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("CHECKPOINT_NOT_FOUND");
    // The remaining checkpoint still restores whole.
    await restore(t, second.id);
    expect((await exec(t, "wc -c < b.bin")).stdout.trim()).toBe("300000");
  });

  it("refuses a checkpoint over the thread's count limit with 409 CHECKPOINT_LIMIT_EXCEEDED", async () => {
    const t = newThread("count");
    expect((await exec(t, "true")).exit_code).toBe(0);
    for (let i = 0; i < 3; i++) await take(t);
    const res = await rt.call("POST", `/threads/acme/${t}/checkpoints`, { body: {} });
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { code: string; details: { limit: string } } };
    expect(body.error).toMatchObject({ code: "CHECKPOINT_LIMIT_EXCEEDED", details: { limit: "count" } });
  });

  it("refuses a checkpoint over the byte limit and keeps nothing of it", async () => {
    const t = newThread("bytes");
    expect((await exec(t, "head -c 9000000 /dev/urandom > huge.bin")).exit_code).toBe(0);
    const res = await rt.call("POST", `/threads/acme/${t}/checkpoints`, { body: {}, accept: "ndjson" });
    const events = await readEvents(res);
    const last = events.at(-1);
    expect(last).toMatchObject({ type: "error", code: "CHECKPOINT_LIMIT_EXCEEDED" });
    expect(await readdir(path.join(store(t), "blobs"))).toEqual([]);
  });

  it("rebuilds the venv when the restored pyproject.toml differs", async () => {
    const t = newThread("venv");
    expect((await exec(t, "true")).exit_code).toBe(0);
    const cp = await take(t);
    const edit = await exec(t, "printf '\\n[tool.threadbox]\\nresolved = []\\nsystem = []\\n# edited\\n' >> pyproject.toml && sed -i 's/dependencies = \\[\\]/dependencies = [\"x-not-installed\"]/' pyproject.toml");
    expect(edit.exit_code, edit.stderr).toBe(0);
    const res = await rt.call("POST", `/threads/acme/${t}/checkpoints/${cp.id}/restore`, { body: {}, accept: "ndjson" });
    const events = await readEvents(res);
    expect(events.filter((e) => e.type === "install").map((e) => (e as { phase: string }).phase)).toEqual(["start", "done"]);
    expect(events.at(-1)).toMatchObject({ type: "result", result: { kind: "restore", value: { venv_rebuilt: true } } });
    expect((await exec(t, "python -c 'print(1)'")).stdout).toBe("1\n");
  });

  it("forks: a new thread's workspace starts as the checkpoint, owned by its own uid", async () => {
    const src = newThread("src");
    expect((await exec(src, "echo from-source > note.txt")).exit_code).toBe(0);
    const cp = await take(src);
    const dst = newThread("dst");
    await rt.json("POST", `/threads/acme/${dst}/fork`, { from_thread: src, checkpoint: cp.id });
    await rt.json("POST", `/threads/acme/${dst}`, {});
    expect((await exec(dst, "cat note.txt")).stdout).toBe("from-source\n");
    const srcUid = (await lstat(path.join(rt.workspaces, "acme", src, "note.txt"))).uid;
    const dstUid = (await lstat(path.join(rt.workspaces, "acme", dst, "note.txt"))).uid;
    if (srcUid !== 0) expect(dstUid).not.toBe(srcUid);
    // Same id under another tenant: that tenant has no such thread, so no such checkpoint.
    const other = await rt.call("POST", `/threads/globex/${newThread("x")}/fork`, { body: { from_thread: src, checkpoint: cp.id } });
    expect(other.status).toBe(404);
    // An existing workspace is never overwritten by a fork.
    const again = await rt.call("POST", `/threads/acme/${dst}/fork`, { body: { from_thread: src, checkpoint: cp.id } });
    expect(again.status).toBe(409);
  });

  it("leaves the workspace as it was when a restore fails half-way (a stored content gone)", async () => {
    const t = newThread("half");
    expect((await exec(t, "for i in $(seq 1 50); do echo $i > f$i.txt; done")).exit_code).toBe(0);
    const cp = await take(t);
    expect((await exec(t, "rm f*.txt && echo now > now.txt")).exit_code).toBe(0);
    const blobs = path.join(store(t), "blobs");
    const names = await readdir(blobs);
    await unlink(path.join(blobs, names[Math.floor(names.length / 2)] ?? ""));
    const res = await rt.call("POST", `/threads/acme/${t}/checkpoints/${cp.id}/restore`, { body: {}, accept: "ndjson" });
    expect((await readEvents(res)).at(-1)).toMatchObject({ type: "error" });
    expect((await exec(t, "ls f*.txt 2>/dev/null | wc -l; cat now.txt")).stdout).toBe("0\nnow\n");
    const leftovers = (await readdir(path.join(rt.workspaces, "acme"))).filter((n) => n.includes(t) && n !== t);
    expect(leftovers).toEqual([]);
  });

  it("recovers from a restore interrupted between its two renames (the old tree aside, no workspace)", async () => {
    const t = newThread("crash");
    expect((await exec(t, "echo kept > k.txt")).exit_code).toBe(0);
    const cp = await take(t);
    const tenantDir = path.join(rt.workspaces, "acme");
    await rename(path.join(tenantDir, t), path.join(tenantDir, `.old-${t}-0123456789abcdef`));
    await mkdir(path.join(tenantDir, `.restore-${t}-fedcba9876543210`));
    await restore(t, cp.id);
    expect((await readdir(tenantDir)).filter((n) => n.includes(t) && n !== t)).toEqual([]);
    expect((await exec(t, "cat k.txt")).stdout).toBe("kept\n");
  });

  it("removes the thread's checkpoints with the thread", async () => {
    const t = newThread("gone");
    expect((await exec(t, "echo x > x")).exit_code).toBe(0);
    await take(t);
    await rt.json("DELETE", `/threads/acme/${t}`);
    expect(await lstat(store(t)).catch(() => null)).toBeNull();
  });
});
