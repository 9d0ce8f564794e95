import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { DiskUsage } from "../../shared/src/index.ts";
import { type CaseContext, type HostileCase, execOn } from "./hostile.ts";
import { pyExec } from "./programs.ts";
import { TENANT } from "./target.ts";

/**
 * The per-thread disk quota against hostile programs (Q1–Q6), on a runtime with a small quota (QUOTA_MB, QUOTA_INODES):
 * a thread cannot fill the shared disk with many files each under the file-size limit, in its workspace or its
 * private /tmp, nor with inodes; the walk that measures it follows no planted link, opens no FIFO, is not steered
 * out by a directory swapped for a link, and fails closed on a tree too deep to measure. Another thread keeps
 * writing meanwhile, and the thread is usable again once files are deleted.
 */
export const QUOTA_MB = 16;
export const QUOTA_INODES = 2000;
const MIB = 2 ** 20;

const thread = (ctx: CaseContext) => `/threads/${TENANT}/${ctx.thread}`;

async function diskOf(ctx: CaseContext): Promise<DiskUsage> {
  return (await ctx.target.rt.json<{ disk: DiskUsage }>("GET", thread(ctx))).disk;
}

/** Files of `size` bytes into `dir`, one every 20 ms, printing progress: only the watchdog stops it early. */
const manyFiles = (dir: string, size: number, count: number) => `
import os, time
os.makedirs(${JSON.stringify(dir)}, exist_ok=True)
for i in range(${count}):
    with open(os.path.join(${JSON.stringify(dir)}, "f%05d" % i), "wb") as f:
        f.write(b"x" * ${size})
    if i % 50 == 0:
        print(i, flush=True)
    time.sleep(0.02 if ${size} else 0.001)
print("finished", flush=True)
`;

/**
 * A third thread of the same runtime writes 4 MiB while the hostile run goes on (not the bystander, which runs its
 * own call at the same time: one thread's runs are not what this checks).
 */
const bystanderWrites = new Map<string, string>();
async function writeElsewhere(ctx: CaseContext): Promise<void> {
  const writer = `w-${ctx.marker}`;
  await ctx.target.createThread(writer);
  const out = await execOn(ctx.target, writer, "head -c 4194304 /dev/zero > /w.bin && stat -c %s /w.bin");
  bystanderWrites.set(ctx.marker, out.stdout);
}

/** Stopped by the watchdog, said so, and refused until files are deleted through the files API; then it runs. */
async function expectStoppedThenRecovers(out: { exec: { disk_quota_exceeded?: boolean; exit_code: number; stderr: string; stdout: string; timed_out: boolean } }, ctx: CaseContext, dirs: string[]): Promise<void> {
  const { expect } = ctx;
  expect(out.exec.disk_quota_exceeded, JSON.stringify(out.exec).slice(0, 600)).toBe(true);
  expect(out.exec.timed_out).toBe(false);
  expect(out.exec.exit_code).not.toBe(0);
  expect(out.exec.stdout).not.toMatch(/finished/);
  expect(out.exec.stderr).toMatch(/went over its disk quota/);
  expect(bystanderWrites.get(ctx.marker)).toBe("4194304\n");
  const refused = await ctx.target.rt.call("POST", `${thread(ctx)}/exec`, { body: { command: "echo no" } });
  expect(refused.status).toBe(507);
  for (const dir of dirs) {
    const res = await ctx.target.rt.call("DELETE", `${thread(ctx)}/files/${dir}?recursive=1`);
    expect(res.status).toBe(200);
  }
}

const decoy = (ctx: CaseContext) => path.join(ctx.target.rt.root, `decoy-${ctx.marker}`);

export const QUOTA_CASES: HostileCase[] = [
  {
    id: "Q1",
    title: "many 256 KiB files, each far under the file-size limit, past the disk quota",
    route: "exec",
    body: () => pyExec(manyFiles("/fill", 262_144, 400), 60),
    during: writeElsewhere,
    async check(out, ctx) {
      await expectStoppedThenRecovers(out, ctx, ["fill"]);
      const again = await execOn(ctx.target, ctx.thread, "echo back");
      ctx.expect(again).toMatchObject({ exit_code: 0, stdout: "back\n" });
    },
  },
  {
    id: "Q2",
    title: "fill the private /tmp instead of the workspace",
    route: "exec",
    body: () => pyExec(manyFiles("/tmp/fill", 262_144, 400), 60),
    during: writeElsewhere,
    async check(out, ctx) {
      ctx.expect(out.exec.disk_quota_exceeded, out.exec.stderr.slice(-600)).toBe(true);
      ctx.expect(out.exec.stderr).toMatch(/\/tmp [1-9]\d*\.\d MiB/);
      ctx.expect(bystanderWrites.get(ctx.marker)).toBe("4194304\n");
      // The files API cannot reach /tmp: deleting the thread frees it, and nothing of it is left on the host.
      ctx.expect((await ctx.target.rt.call("DELETE", thread(ctx))).status).toBe(200);
      ctx.expect(existsSync(ctx.dir)).toBe(false);
    },
  },
  {
    id: "Q3",
    title: "empty files past the inode quota",
    route: "exec",
    body: () => pyExec(manyFiles("/empty", 0, 20_000), 60),
    during: writeElsewhere,
    async check(out, ctx) {
      await expectStoppedThenRecovers(out, ctx, ["empty"]);
    },
  },
  {
    id: "Q4",
    title: "plant links to the host (a big file, /usr, /), a link loop, a FIFO and a socket; measure",
    route: "exec",
    async prepare(ctx) {
      writeFileSync(decoy(ctx), Buffer.alloc(32 * MIB, 1));
    },
    body: (ctx) => ({
      command:
        'ln -s "$DECOY" /big && ln -s /usr /usr-link && ln -s / /root-link && ln -s . /loop && mkfifo /fifo && ' +
        "python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"/sock\")' && echo planted",
      env: { DECOY: decoy(ctx) },
    }),
    async check(out, ctx) {
      ctx.expect(out.exec.stdout, out.exec.stderr).toBe("planted\n");
      // A walk that opened the FIFO would hang here; one that followed a link would count 32 MiB or all of /usr.
      const disk = await diskOf(ctx);
      ctx.expect(disk.complete).toBe(true);
      ctx.expect(disk.over_quota).toBe(false);
      ctx.expect(disk.parts.workspace.bytes).toBeLessThan(MIB);
      ctx.expect((await execOn(ctx.target, ctx.thread, "echo fine")).stdout).toBe("fine\n");
    },
  },
  {
    id: "Q5",
    title: "swap a directory for a link to a big host directory in a loop while the thread is measured",
    route: "exec",
    async prepare(ctx) {
      mkdirSync(decoy(ctx));
      writeFileSync(path.join(decoy(ctx), "big"), Buffer.alloc(32 * MIB, 1));
    },
    body: (ctx) => ({
      command: 'mkdir -p /d && touch /d/a /d/b; i=0; while [ $i -lt 3000 ] && [ ! -e /stop ]; do mv /d /d.real && ln -s "$DECOY" /d && rm /d && mv /d.real /d; i=$((i+1)); done; echo swaps=$i',
      env: { DECOY: decoy(ctx) },
      timeout: 60,
    }),
    async during(ctx, settled) {
      for (let i = 0; i < 40 && !settled(); i++) {
        const disk = await diskOf(ctx);
        ctx.expect(disk.parts.workspace.bytes, "the walk counted the link's target").toBeLessThan(4 * MIB);
      }
      await ctx.target.rt.call("PUT", `${thread(ctx)}/files/stop`, { raw: "" });
    },
    check(out, ctx) {
      ctx.expect(out.exec.stdout).toMatch(/^swaps=\d+\n$/);
      ctx.expect(readdirSync(decoy(ctx))).toEqual(["big"]);
    },
  },
  {
    id: "Q6",
    title: "nest directories deeper than the walk measures",
    route: "exec",
    body: () => pyExec('import os\nfor i in range(600):\n    os.mkdir("n")\n    os.chdir("n")\nprint("nested", flush=True)', 60),
    async check(out, ctx) {
      // Done, or stopped by the watchdog once the tree got too deep to measure (under proot the loop is slow).
      const stopped = out.exec.disk_quota_exceeded === true && /nested too deep/.test(out.exec.stderr);
      ctx.expect(out.exec.stdout === "nested\n" || stopped, JSON.stringify(out.exec).slice(0, 600)).toBe(true);
      const disk = await diskOf(ctx);
      ctx.expect(disk).toMatchObject({ complete: false, over_quota: true });
      const refused = await ctx.target.rt.call("POST", `${thread(ctx)}/exec`, { body: { command: "echo no" } });
      ctx.expect(refused.status).toBe(507);
      ctx.expect(await refused.text()).toMatch(/nested too deep to be measured/);
      ctx.expect((await ctx.target.rt.call("DELETE", thread(ctx))).status).toBe(200);
    },
  },
];
