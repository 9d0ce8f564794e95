import { execFileSync, spawn } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AppError, threadRef } from "../../shared/src/index.ts";
import { createLogger } from "../../runtime-container/src/logger.ts";
import { DiskQuota } from "../../runtime-container/src/quota/disk-quota.ts";
import { MAX_WALK_DEPTH, UsageWalk } from "../../runtime-container/src/quota/usage-walk.ts";
import { locateWorkspace } from "../../runtime-container/src/thread-location.ts";

/*
 * The disk quota's accounting on the real filesystem (quota/): the link-safe walk against du(1), planted links,
 * FIFOs, sockets and a racing swap; the service's admission, reservations and watchdog. The runtime's own use of
 * them (and the hostile programs under proot and bwrap) are in disk-quota.test.ts and test/security.
 */
const MIB = 2 ** 20;
let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "threadbox-quota-"));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** du's count of the same tree: -x one filesystem, -P (default) no links followed, hard links once. */
function du(dir: string): { bytes: number; inodes: number } {
  const field = (args: string[]) => Number(execFileSync("du", ["-s", "-x", ...args, dir], { encoding: "utf8" }).split("\t")[0]);
  return { bytes: field(["-B1"]), inodes: field(["--inodes"]) };
}

async function walk(dir: string, maxInodes = 1_000_000): Promise<UsageWalk> {
  const w = new UsageWalk(maxInodes);
  await w.add(dir);
  return w;
}

function makeTree(dir: string): void {
  for (let d = 0; d < 5; d++) {
    mkdirSync(path.join(dir, `d${d}`, "sub"), { recursive: true });
    for (let f = 0; f < 20; f++) writeFileSync(path.join(dir, `d${d}`, f % 2 ? "sub" : "", `f${f}`), Buffer.alloc(f * 1000, 1));
  }
  writeFileSync(path.join(dir, "big"), Buffer.alloc(3 * MIB, 1));
  linkSync(path.join(dir, "big"), path.join(dir, "big-again"));
  execFileSync("truncate", ["-s", "1G", path.join(dir, "sparse")]);
}

describe("usage walk", () => {
  it("counts what du counts: blocks on disk and inodes, a hard link once, a sparse file by its blocks", async () => {
    const tree = path.join(tmp, "tree");
    mkdirSync(tree);
    makeTree(tree);
    const w = await walk(tree);
    expect(w.stopped).toBeNull();
    expect(w.total).toEqual(du(tree));
    expect(w.total.bytes).toBeLessThan(8 * MIB);
  });

  it("follows no link and opens no FIFO or socket", async () => {
    const tree = path.join(tmp, "tree");
    mkdirSync(tree);
    writeFileSync(path.join(tree, "a"), "a");
    writeFileSync(path.join(tmp, "outside"), Buffer.alloc(8 * MIB, 1));
    symlinkSync(path.join(tmp, "outside"), path.join(tree, "big"));
    symlinkSync("/usr", path.join(tree, "usr"));
    symlinkSync("/", path.join(tree, "root"));
    symlinkSync(".", path.join(tree, "loop"));
    symlinkSync("/nonexistent", path.join(tree, "dangling"));
    execFileSync("mkfifo", [path.join(tree, "fifo")]);
    const server = createServer().listen(path.join(tree, "socket"));
    await new Promise((r) => server.once("listening", r));
    try {
      // A FIFO without a writer blocks whoever opens it: the walk returning at all shows it did not.
      const w = await walk(tree);
      expect(w.total).toEqual(du(tree));
      expect(w.total.inodes).toBe(9);
      expect(w.total.bytes).toBeLessThan(MIB);
    } finally {
      server.close();
    }
  });

  it("stops as soon as the inode budget is exceeded", async () => {
    const tree = path.join(tmp, "tree");
    mkdirSync(tree);
    for (let i = 0; i < 300; i++) writeFileSync(path.join(tree, `f${i}`), "");
    const w = await walk(tree, 100);
    expect(w.stopped).toBe("inodes");
    expect(w.total.inodes).toBe(101);
  });

  it("fails closed on a tree nested deeper than it holds fds for", async () => {
    let dir = path.join(tmp, "deep");
    mkdirSync(dir);
    for (let i = 0; i < MAX_WALK_DEPTH + 5; i++) {
      dir = path.join(dir, "d");
      mkdirSync(dir);
    }
    const w = await walk(path.join(tmp, "deep"));
    expect(w.stopped).toBe("depth");
  });

  it("counts nothing for a missing root", async () => {
    const w = await walk(path.join(tmp, "missing"));
    expect(w.total).toEqual({ bytes: 0, inodes: 0 });
    expect(w.stopped).toBeNull();
  });

  it("never counts what a directory swapped for a link points to", async () => {
    const tree = path.join(tmp, "tree");
    const decoy = path.join(tmp, "decoy");
    mkdirSync(path.join(tree, "d"), { recursive: true });
    mkdirSync(decoy);
    writeFileSync(path.join(decoy, "eight-mib"), Buffer.alloc(8 * MIB, 1));
    for (let i = 0; i < 50; i++) writeFileSync(path.join(tree, "d", `f${i}`), "x");
    const swapper = spawn("sh", [
      "-c",
      'i=0; while [ $i -lt 20000 ]; do mv d d.real && ln -s "$1" d && rm d && mv d.real d; i=$((i+1)); done',
      "sh",
      decoy,
    ], { cwd: tree, stdio: "ignore" });
    try {
      for (let i = 0; i < 100; i++) {
        const w = await walk(tree);
        expect(w.total.bytes).toBeLessThan(4 * MIB);
      }
    } finally {
      swapper.kill("SIGKILL");
    }
  });
});

describe("disk quota service", () => {
  const logger = createLogger("error");
  const limits = { bytes: 16 * MIB, inodes: 500 };
  const where = () => locateWorkspace({ workspaces: path.join(tmp, "threads"), state: path.join(tmp, "state") }, threadRef("acme", "t1"));
  const prepare = () => {
    const loc = where();
    for (const dir of [loc.dir, ...Object.values(loc.privateTmp), loc.mounts.venv]) mkdirSync(dir, { recursive: true });
    return loc;
  };

  it("admits under the quota with what is left, and refuses over it (507 with the counts)", async () => {
    const loc = prepare();
    const quota = new DiskQuota(limits, logger);
    writeFileSync(path.join(loc.dir, "data"), Buffer.alloc(4 * MIB, 1));
    writeFileSync(path.join(loc.privateTmp.tmp, "scratch"), Buffer.alloc(2 * MIB, 1));
    const { remaining } = await quota.admit(loc);
    expect(remaining.bytes).toBeLessThanOrEqual(10 * MIB);
    expect(remaining.bytes).toBeGreaterThan(9 * MIB);
    writeFileSync(path.join(loc.mounts.venv, "wheel"), Buffer.alloc(12 * MIB, 1));
    quota.invalidate(loc);
    const refused = await quota.admit(loc).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    const err = refused as AppError;
    expect(err.status).toBe(507);
    expect(err.code).toBe("DISK_QUOTA_EXCEEDED");
    expect(err.message).toMatch(/DELETE \/v1\/threads\/t1\/files/);
    expect(err.details).toMatchObject({ limit_bytes: 16 * MIB, limit_inodes: 500, complete: true });
    expect((err.details as { used_bytes: number }).used_bytes).toBeGreaterThan(16 * MIB);
    const usage = await quota.usage(loc);
    expect(usage).toMatchObject({ over_quota: true, quota_bytes: 16 * MIB });
    expect(usage.parts.venv.bytes).toBeGreaterThanOrEqual(12 * MIB);
    expect(usage.parts.tmp.bytes).toBeGreaterThanOrEqual(2 * MIB);
  });

  it("counts inodes too", async () => {
    const loc = prepare();
    const quota = new DiskQuota(limits, logger);
    for (let i = 0; i < 600; i++) writeFileSync(path.join(loc.dir, `e${i}`), "");
    await expect(quota.admit(loc)).rejects.toMatchObject({ code: "DISK_QUOTA_EXCEEDED" });
  });

  it("reserves room for uploads: concurrent ones cannot together overshoot, a failed one gives it back", async () => {
    const loc = prepare();
    const quota = new DiskQuota(limits, logger);
    const first = await quota.reserve(loc, 10 * MIB, "upload one");
    await expect(quota.reserve(loc, 10 * MIB, "upload two")).rejects.toMatchObject({ code: "DISK_QUOTA_EXCEEDED" });
    first(false);
    const again = await quota.reserve(loc, 10 * MIB, "upload two");
    again(false);
  });

  it("never refuses on its own estimate: replacing one file many times stays admitted", async () => {
    const loc = prepare();
    const quota = new DiskQuota(limits, logger);
    for (let i = 0; i < 10; i++) {
      const done = await quota.reserve(loc, 6 * MIB, "upload");
      writeFileSync(path.join(loc.dir, "same"), Buffer.alloc(6 * MIB, 1));
      done(true);
    }
    await quota.admit(loc);
  });

  it("stops the thread's runs when a watchdog walk finds it over", async () => {
    const loc = prepare();
    const quota = new DiskQuota(limits, logger);
    await quota.admit(loc);
    const lines: string[] = [];
    const end = quota.watch(loc, (line) => lines.push(line));
    try {
      writeFileSync(path.join(loc.dir, "grown"), Buffer.alloc(20 * MIB, 1));
      for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(lines[0]).toMatch(/the run was stopped: thread t1 went over its disk quota/);
    } finally {
      end();
    }
    expect(quota.report()).toMatchObject({ total: { threads: 1, over_quota: 1 }, tenants: { acme: { threads: 1, over_quota: 1 } } });
  });
});
