import { readFileSync } from "node:fs";
import path from "node:path";
import type { EventBody } from "../../../shared/src/index.ts";
import { deleteWorkspacePath, listWorkspaceDir, readWorkspaceFile, writeWorkspaceFile } from "../files/file-ops.ts";
import type { Owner } from "../files/safe-open.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { type DisplayManager, GUEST_XAUTHORITY } from "./displays.ts";

const HOOK = readFileSync(new URL("./sitecustomize.py", import.meta.url), "utf8");
const POLL_MS = 250;
const MAX_SHOT_BYTES = 32 * 2 ** 20;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Relative to the thread's private /tmp (local disk, writable by the sandbox, never on the bucket). */
const HOOK_DIR = ".threadbox-x11/python";
const SHOTS_DIR = ".threadbox-x11/shots";

export interface ScreenshotSession {
  /** Variables for every process of the run: the display, its cookie, the hooks, where PNGs go. */
  env: Record<string, string>;
  /** Streams what the run's hooks captured; when they captured nothing, one picture of the display as it is now. */
  finish(): Promise<void>;
}

export interface ScreenshotDeps {
  displays: DisplayManager;
  /** Where the thread's private /tmp appears inside its sandbox ("/tmp" when the backend re-roots). */
  guestTmp: (loc: WorkspaceLocation) => string;
  owner: (loc: WorkspaceLocation) => Owner;
  /** Sets up (or verifies) the thread's directories: a session starts before the run's work, on a new thread too. */
  ready: (loc: WorkspaceLocation) => Promise<void>;
}

/**
 * `capture_screenshot: true` (screenshots taken during a run): the run gets the thread's display and hooks that take PNGs while its
 * windows are up; the PNGs land in the thread's private /tmp, are read back without following links (the sandbox
 * owns that directory), checked to be PNGs, and streamed as `display` events with `source: "screenshot"`.
 */
export async function startScreenshots(
  deps: ScreenshotDeps,
  loc: WorkspaceLocation,
  executionId: string,
  emit: (body: EventBody) => void,
): Promise<ScreenshotSession> {
  await deps.ready(loc);
  const display = await deps.displays.acquire(loc);
  const tmp = loc.privateTmp.tmp;
  await writeWorkspaceFile(tmp, `${HOOK_DIR}/sitecustomize.py`, Buffer.from(HOOK), { owner: deps.owner(loc) });
  const shots = `${SHOTS_DIR}/${executionId}`;
  const guestTmp = deps.guestTmp(loc);
  let emitted = 0;
  let collecting = Promise.resolve();

  const collect = () => {
    collecting = collecting.then(async () => {
      const names = await listWorkspaceDir(tmp, shots).then(
        (l) => l.entries.filter((e) => e.type === "file" && e.path.endsWith(".png")).map((e) => e.path),
        () => [],
      );
      for (const name of names) {
        const png = await readWorkspaceFile(tmp, name, MAX_SHOT_BYTES).then((f) => f.data, () => null);
        await deleteWorkspacePath(tmp, name).catch(() => undefined);
        if (png && png.subarray(0, 8).equals(PNG_SIGNATURE)) {
          emit({ type: "display", mime: "image/png", data: png.toString("base64"), source: "screenshot" });
          emitted += 1;
        }
      }
    });
    return collecting;
  };
  const timer = setInterval(() => void collect(), POLL_MS);

  return {
    env: {
      DISPLAY: `:${display.number}`,
      XAUTHORITY: path.posix.join(guestTmp, GUEST_XAUTHORITY),
      THREADBOX_SCREENSHOTS: path.posix.join(guestTmp, shots),
      PYTHONPATH: path.posix.join(guestTmp, HOOK_DIR),
      // A running interpreter (a context) loads the hooks from here instead.
      THREADBOX_GUI_HOOK: path.posix.join(guestTmp, HOOK_DIR, "sitecustomize.py"),
      // Real windows on the virtual display; the hooks make show() return once the figure is on screen.
      MPLBACKEND: "TkAgg",
    },
    async finish() {
      clearInterval(timer);
      await collect();
      if (emitted === 0) {
        const png = await deps.displays.capture(loc);
        if (png) emit({ type: "display", mime: "image/png", data: png.toString("base64"), source: "screenshot" });
      }
      await deleteWorkspacePath(tmp, shots).catch(() => undefined);
    },
  };
}

/**
 * Runs `work` with a screenshot session when the call asked for one (`env` is then the session's variables, else
 * empty); the captured PNGs are streamed before the run's terminal event.
 */
export async function withScreenshots<T>(
  deps: ScreenshotDeps,
  loc: WorkspaceLocation,
  ctx: { executionId: string; emit: (body: EventBody) => void },
  enabled: boolean,
  work: (env: Record<string, string>) => Promise<T>,
): Promise<T> {
  if (!enabled) return work({});
  const session = await startScreenshots(deps, loc, ctx.executionId, ctx.emit);
  try {
    return await work(session.env);
  } finally {
    await session.finish();
  }
}

/** A runner that adds `env` to every run (the caller's own variables still win; PYTHONPATH is joined). */
export function withEnv(run: GuestRunner, env: Record<string, string>): GuestRunner {
  if (Object.keys(env).length === 0) return run;
  return (loc, r) => {
    const user = r.env ?? {};
    const pythonPath = [env.PYTHONPATH, user.PYTHONPATH].filter(Boolean).join(":");
    return run(loc, { ...r, env: { ...env, ...user, ...(pythonPath ? { PYTHONPATH: pythonPath } : {}) } });
  };
}
