import { existsSync, readFileSync, readdirSync } from "node:fs";
import { stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { processesMatching } from "../runtime/harness.ts";
import { type CaseContext, type HostileCase, poll } from "./hostile.ts";
import { TENANT } from "./target.ts";

/**
 * SECURITY.md's screenshot rows (capture_screenshot beyond `true`): what the sandbox plants where the runtime reads
 * its pictures (S1), a window title made to look like shell (S2), and the host-side frames' X clients, which must run
 * as the thread's uid with PATH, DISPLAY and XAUTHORITY only (S3). The thread's display server is the thread's own
 * process: each row stops it once its run is over (the teardown check counts the thread uid's processes).
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const displayServer = (ctx: CaseContext) => processesMatching(`${TENANT}.${ctx.thread}.auth`);

async function releaseDisplayAfterRun(ctx: CaseContext, settled: () => boolean): Promise<void> {
  for (let i = 0; i < 1_200 && !settled(); i++) await sleep(100);
  await ctx.target.rt.call("POST", `/threads/${TENANT}/${ctx.thread}/release`);
  await poll(() => displayServer(ctx), (p) => p.length === 0, 100);
}

const pngs = (displays: { mime: string; data: string }[] | undefined) => (displays ?? []).filter((d) => d.mime === "image/png");
const notes = (displays: { mime: string; data: string }[] | undefined) => (displays ?? []).filter((d) => d.mime === "text/plain");

/** Every PNG really is one (ImageMagick decodes it), and its size. */
async function pngSize(base64: string): Promise<[number, number]> {
  const { stdout } = await execa("identify", ["-format", "%w %h", "png:-"], { input: Buffer.from(base64, "base64") });
  const [w, h] = stdout.trim().split(" ").map(Number);
  return [w as number, h as number];
}

const PLANT = `
import os, time
d = os.environ["THREADBOX_SCREENSHOTS"]
os.makedirs(d, exist_ok=True)
os.symlink("/etc/shadow", os.path.join(d, "0001-root.png"))
os.symlink("/etc/passwd", os.path.join(d, "0002-passwd.txt"))
os.mkfifo(os.path.join(d, "0003-fifo.txt"))
os.mkfifo(os.path.join(d, "0004-fifo.png"))
with open(os.path.join(d, "0005-fake.png"), "wb") as f:
    f.write(b"not a png at all")
time.sleep(1.5)
print("planted")
`;

const S2_TITLE = "$(touch /tmp/S2PWNED) `touch /tmp/S2PWNED`; ' \" | & *";
const S2_PROGRAM = `
import tkinter as tk
root = tk.Tk()
root.title(${JSON.stringify(S2_TITLE)})
root.geometry("120x80+30+30")
tk.Frame(root, bg="green", width=120, height=80).pack()
root.after(1200, root.destroy)
root.mainloop()
print("shown")
`;

/** S3's program polls for the test's word that it saw the clients (a short-lived client is easy to miss on a busy host). */
const S3_WAIT = `
import os as _os
_waited = [0]
def _check():
    _waited[0] += 1
    if _os.path.exists("/s3-seen") or _waited[0] > 600:
        root.destroy()
    else:
        root.after(100, _check)
root.after(100, _check)`;

/** S3: what the frames' X clients were seen running as, by marker. */
const seenClients = new Map<string, { uid: number; env: string[] }[]>();

export const SCREENSHOT_CASES: HostileCase[] = [
  {
    id: "S1",
    title: "plant links to /etc/shadow and /etc/passwd, FIFOs and a fake PNG among the screenshot files",
    route: "run_python",
    body: () => ({ code: PLANT, capture_screenshot: { window: "S1 nowhere" }, timeout: 60 }),
    during: releaseDisplayAfterRun,
    async check(out, ctx) {
      ctx.expect(out.status, out.text.slice(0, 500)).toBe(200);
      ctx.expect(out.py.metadata.stdout).toBe("planted\n");
      ctx.expect(out.text).not.toMatch(/root:x:0:0|root:[!*$]/);
      // Nothing planted comes back as a picture; the window is reported missing, once, in the runtime's words.
      ctx.expect(pngs(out.py.displays)).toEqual([]);
      ctx.expect(notes(out.py.displays).map((n) => n.data)).toEqual([ctx.expect.stringContaining('no window titled "S1 nowhere"')]);
      ctx.expect(readFileSync("/etc/passwd", "utf8")).toMatch(/^root:/);
      ctx.expect(existsSync("/etc/shadow")).toBe(true);
    },
  },
  {
    id: "S2",
    title: "a window titled with shell syntax, captured by that title",
    route: "run_python",
    body: () => ({ code: S2_PROGRAM, capture_screenshot: { window: S2_TITLE }, timeout: 60 }),
    during: releaseDisplayAfterRun,
    async check(out, ctx) {
      ctx.expect(out.status, out.text.slice(0, 500)).toBe(200);
      ctx.expect(out.py.metadata.stdout).toBe("shown\n");
      const shots = pngs(out.py.displays);
      ctx.expect(shots.length).toBeGreaterThanOrEqual(1);
      ctx.expect(await pngSize(shots[0]?.data as string)).toEqual([120, 80]);
      ctx.expect(existsSync("/tmp/S2PWNED"), "a title ran as a command on the host").toBe(false);
      const tmp = await execOnTmp(ctx);
      ctx.expect(tmp, "a title ran as a command in the sandbox").not.toContain("S2PWNED");
    },
  },
  {
    id: "S3",
    title: "frames of a window: the runtime's X clients run as the thread's uid with PATH, DISPLAY, XAUTHORITY only",
    route: "run_python",
    body: () => ({
      // The window stays until the test has seen the frames' clients (it writes /s3-seen), at most 60 s.
      code: S2_PROGRAM.replace("root.after(1200, root.destroy)", S3_WAIT),
      capture_screenshot: { window: S2_TITLE, interval_ms: 200, max_frames: 50 },
      timeout: 60,
    }),
    async during(ctx, settled) {
      const seen: { uid: number; env: string[] }[] = [];
      // The frames' clients live a fraction of a second each: look for them while the run lasts (bounded).
      for (let i = 0; i < 20_000 && !settled() && seen.length === 0; i++) {
        seen.push(...xClientsNow());
        await sleep(2);
      }
      seenClients.set(ctx.marker, seen);
      // A few frames more before the window goes, so the run has whole pictures of it.
      await sleep(1_000);
      await writeFile(path.join(ctx.dir, "s3-seen"), "");
      await releaseDisplayAfterRun(ctx, settled);
    },
    async check(out, ctx) {
      ctx.expect(out.status, out.text.slice(0, 500)).toBe(200);
      const frames = pngs(out.py.displays);
      ctx.expect(frames.length).toBeGreaterThanOrEqual(1);
      ctx.expect(frames.length).toBeLessThanOrEqual(50);
      for (const f of frames) ctx.expect(await pngSize(f.data)).toEqual([120, 80]);
      const threadUid = (await stat(ctx.dir)).uid;
      const seen = seenClients.get(ctx.marker) ?? [];
      ctx.expect(seen.length, "no X client of the frames was seen running").toBeGreaterThan(0);
      for (const client of seen) {
        ctx.expect(client.uid).toBe(threadUid);
        ctx.expect(client.uid).not.toBe(0);
        ctx.expect([...client.env].sort()).toEqual(["DISPLAY", "PATH", "XAUTHORITY"]);
      }
    },
  },
];

/** The frames' X clients running now (after setpriv's exec), read synchronously from /proc: they live for moments. */
function xClientsNow(): { uid: number; env: string[] }[] {
  const found: { uid: number; env: string[] }[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    const comm = readOr(`/proc/${pid}/comm`).trim();
    if (comm !== "import" && comm !== "xwininfo") continue;
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readOr(`/proc/${pid}/status`))?.[1] ?? -1);
    const env = readOr(`/proc/${pid}/environ`).split("\0").filter(Boolean).map((v) => v.split("=")[0] as string);
    if (env.length > 0) found.push({ uid, env });
  }
  return found;
}

function readOr(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** The names in the thread's private /tmp, listed from inside its sandbox. */
async function execOnTmp(ctx: CaseContext): Promise<string> {
  const posted = await ctx.target.post(ctx.thread, "exec", { command: "ls -a /tmp", timeout: 30 });
  return new TextDecoder().decode(posted.bytes);
}
