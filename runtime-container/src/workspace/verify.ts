import type { Stats } from "node:fs";
import { z } from "zod";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import { deleteWorkspacePath, readWorkspaceFile, writeWorkspaceFile } from "../files/file-ops.ts";
import { type Owner, lstatAt, withWorkspaceDir } from "../files/safe-open.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { Mounts } from "../sandbox/backend.ts";
import { MARKER_PATH } from "./layout.ts";
import type { WorkspaceLocation } from "../thread-location.ts";

const MarkerSchema = z.object({
  python_version: z.string(),
  virtual_env: z.string(),
  base_python: z.string(),
  configured_at: z.string(),
});
export type Marker = z.infer<typeof MarkerSchema>;

/** Far above a real marker; a bigger one is garbage. */
const MARKER_MAX_BYTES = 64 * 1024;

/**
 * A marker that does not parse counts as no marker. Every marker access goes through the safe walk: the sandbox
 * can swap `.threadbox` for a link, and a plain path would be followed out of the workspace.
 */
export async function readMarker(dir: string): Promise<Marker | null> {
  try {
    const { data } = await readWorkspaceFile(dir, MARKER_PATH, MARKER_MAX_BYTES);
    return MarkerSchema.parse(JSON.parse(data.toString("utf8")));
  } catch {
    return null;
  }
}

/** lstat of the marker; null when it (or `.threadbox`) is missing, or `.threadbox` is not a plain directory. */
export async function statMarker(dir: string): Promise<Stats | null> {
  const [parent, name] = MARKER_PATH.split("/") as [string, string];
  return withWorkspaceDir(dir, [parent], {}, (d) => lstatAt(d, name)).catch(() => null);
}

/** Removes the marker before a set-up; a missing one is fine. */
export async function removeMarker(dir: string): Promise<void> {
  await deleteWorkspacePath(dir, MARKER_PATH).catch((err: unknown) => {
    if (!(err instanceof AppError && err.code === ErrorCode.FILE_NOT_FOUND)) throw err;
  });
}

/**
 * Written last, atomically (write then rename), so a crash mid-setup leaves no marker. Returns its mtime.
 * Through the file API's writer: the sandbox can plant links in the workspace, and a root writeFile would follow them.
 */
export async function writeMarker(dir: string, marker: Marker, owner: Owner): Promise<number> {
  await writeWorkspaceFile(dir, MARKER_PATH, new TextEncoder().encode(`${JSON.stringify(marker, null, 2)}\n`), { owner });
  const st = await statMarker(dir);
  if (!st) throw new Error("the workspace marker vanished right after it was written");
  return st.mtimeMs;
}

const PROBE = "import json, sys; print(json.dumps({'version': sys.version.split()[0], 'prefix': sys.prefix}))";

export type PythonCheck = { ok: true; version: string; prefix: string } | { ok: false; error: string };

/** Runs the venv's interpreter inside the sandbox: it must start, report its version, and live in the venv. */
export async function verifyPython(
  run: GuestRunner,
  loc: WorkspaceLocation,
  venv: string,
  mounts?: Partial<Mounts>,
): Promise<PythonCheck> {
  const r = await run(loc, { argv: [`${venv}/bin/python`, "-c", PROBE], timeoutMs: 30_000, mounts });
  if (r.exitCode !== 0) return { ok: false, error: r.stderr.slice(-4000) || `exit ${r.exitCode}` };
  try {
    const out = z.object({ version: z.string(), prefix: z.string() }).parse(JSON.parse(r.stdout.trim()));
    if (out.prefix !== venv) return { ok: false, error: `interpreter prefix ${out.prefix} is not ${venv}` };
    return { ok: true, ...out };
  } catch {
    return { ok: false, error: `unexpected interpreter output: ${r.stdout.slice(0, 500)}` };
  }
}
