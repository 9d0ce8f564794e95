import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rename } from "node:fs/promises";
import path from "node:path";
import { fsCode } from "../files/safe-open.ts";
import { removeHostEntry } from "../files/remove-tree.ts";

/*
 * A restore never leaves a half-written workspace: the new tree is built aside (`.restore-<thread>-<hex>` beside
 * the workspace, in the tenant's directory, which is root's), then put in place by two renames in that directory.
 * Only root can rename entries there, so the sandbox cannot swap the workspace directory itself for a link between
 * them. A runtime that dies between the renames leaves the old tree as `.old-<thread>-<hex>`: `recover` puts it
 * back, and removes what such an interrupted restore left.
 */

const hex = () => randomBytes(8).toString("hex");

/** A fresh staging directory of root's (0700) beside the workspace `dir`. */
export async function makeStaging(dir: string): Promise<string> {
  const staging = path.join(path.dirname(dir), `.restore-${path.basename(dir)}-${hex()}`);
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o711 });
  await mkdir(staging, 0o700);
  return staging;
}

/** Puts `staging` at `dir` (whatever was there is removed, on held fds: it is the sandbox's tree). */
export async function swapIn(dir: string, staging: string): Promise<void> {
  const parent = path.dirname(dir);
  const old = `.old-${path.basename(dir)}-${hex()}`;
  const had = await rename(dir, path.join(parent, old)).then(
    () => true,
    (err: unknown) => {
      if (fsCode(err) === "ENOENT") return false;
      throw err;
    },
  );
  try {
    await rename(staging, dir);
  } catch (err) {
    if (had) await rename(path.join(parent, old), dir);
    throw err;
  }
  if (had) await removeHostEntry(parent, old);
}

/** Undoes what an interrupted restore of `dir` left: the old tree back if the new one never arrived, staging removed. */
export async function recover(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  const name = path.basename(dir);
  const names = await readdir(parent).catch(() => [] as string[]);
  let missing = await lstat(dir).then(
    () => false,
    (err: unknown) => fsCode(err) === "ENOENT",
  );
  for (const n of names) {
    if (missing && n.startsWith(`.old-${name}-`)) {
      await rename(path.join(parent, n), dir);
      missing = false;
      continue;
    }
    if (n.startsWith(`.old-${name}-`) || n.startsWith(`.restore-${name}-`)) await removeHostEntry(parent, n);
  }
}

/** Removes a staging directory (a restore that failed before its swap). */
export const dropStaging = (staging: string) => removeHostEntry(path.dirname(staging), path.basename(staging));
