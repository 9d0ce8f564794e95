import { execa } from "execa";
import type { Owner } from "../files/safe-open.ts";
import { type CaptureTarget, clipToScreen, cropGeometry, parseWindowInfo, windowMissing } from "./capture-plan.ts";

/** What a host-side X client needs: the display, the server's cookie file, and the thread's uid to run as. */
export interface XServer {
  number: number;
  serverAuth: string;
  owner: Owner;
  screen: { width: number; height: number };
}

/** A picture (PNG), a window that was asked for and is not on the screen, or nothing (the tool failed). */
export type CaptureOutcome = { png: Buffer } | { missing: string } | null;

/** Children get a fixed PATH and nothing else of the runtime's environment (no secrets in a thread uid's process). */
export const CHILD_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
const MAX_INFO_CHARS = 16_384;

/**
 * Runs an X client (ImageMagick's import, xwininfo) against the thread's display from the host. It runs as the
 * thread's uid, not as root: the X server it parses is the thread's, and a root process must not parse its answers.
 * Its environment is PATH, DISPLAY and XAUTHORITY only.
 */
function asThread(x: XServer, args: string[], encoding: "buffer" | "utf8") {
  const drop = x.owner ? ["--reuid", String(x.owner.uid), "--regid", String(x.owner.gid), "--clear-groups"] : [];
  return execa("setpriv", [...drop, "--no-new-privs", ...args], {
    env: { ...CHILD_ENV, DISPLAY: `:${x.number}`, XAUTHORITY: x.serverAuth },
    extendEnv: false,
    encoding,
    reject: false,
    timeout: 20_000,
    maxBuffer: 64 * 2 ** 20,
  });
}

/** A PNG of the whole screen, or of `crop` (a rectangle within the screen). */
async function importPng(x: XServer, crop?: string): Promise<CaptureOutcome> {
  const cropArgs = crop ? ["-crop", crop, "+repage"] : [];
  const shot = await asThread(x, ["import", "-silent", "-window", "root", ...cropArgs, "png:-"], "buffer");
  return shot.exitCode === 0 ? { png: Buffer.from(shot.stdout as unknown as Uint8Array) } : null;
}

/** One picture of `target` on the thread's display, taken now. */
export async function captureX(x: XServer, target: CaptureTarget): Promise<CaptureOutcome> {
  if (target.kind === "screen") return importPng(x);
  if (target.kind === "region") return importPng(x, cropGeometry(target.rect));
  // `-name` matches the title exactly; the argument is never seen by a shell.
  const info = await asThread(x, ["xwininfo", "-name", target.title], "utf8");
  const rect = info.exitCode === 0 ? parseWindowInfo(String(info.stdout).slice(0, MAX_INFO_CHARS)) : null;
  const visible = rect && clipToScreen(rect, x.screen);
  if (!visible) return { missing: windowMissing(target.title) };
  return importPng(x, cropGeometry(visible));
}
