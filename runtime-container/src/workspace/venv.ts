import { randomBytes } from "node:crypto";
import { chmod, lchown, mkdir, readdir, rename } from "node:fs/promises";
import path from "node:path";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import { statWorkspacePath, writeWorkspaceFile } from "../files/file-ops.ts";
import { removeHostEntry } from "../files/remove-tree.ts";
import { installPackages } from "../python/installer.ts";
import { INSTALLING_MARK, SYSTEM_SITE } from "../python/venv-layout.ts";
import { readManifest } from "../python/manifest.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { Sandbox } from "../sandbox/create.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import type { VenvTemplate } from "./venv-template.ts";
import { verifyPython } from "./verify.ts";

const SETUP_TIMEOUT_MS = 300_000;

export interface VenvDeps {
  run: GuestRunner;
  sandbox: Sandbox;
  pythonBin: string;
  installer: "uv" | "pip";
  log: (level: "info" | "warn", msg: string, fields?: Record<string, unknown>) => void;
  /** New venvs are copies of it where the venv is re-rooted (every backend but none). */
  template?: VenvTemplate;
}

/**
 * A venv is usable when its interpreter exists and no install was interrupted in it. The venv is the thread's to
 * change: looked at without following links (a `bin` swapped for a link out says nothing about a host directory).
 */
export async function venvLooksUsable(loc: WorkspaceLocation): Promise<boolean> {
  const entry = (rel: string) => statWorkspacePath(loc.mounts.venv, rel).catch(() => null);
  const [python, interrupted] = await Promise.all([entry("bin/python"), entry(INSTALLING_MARK)]);
  return python !== null && interrupted === null;
}

/** Removes a venv (or one being built or replaced) of the thread: its tree is the sandbox's, so never by path. */
function removeVenvDir(dir: string): Promise<void> {
  return removeHostEntry(path.dirname(dir), path.basename(dir));
}

/**
 * Removes what earlier builds of the thread's venv left beside it (`<thread>.build-*`, `<thread>.old-*`: a runtime
 * that died mid-build, or an old venv a process of the thread kept writing in). Ids hold no ".", so the prefix is the
 * thread's alone. The listing is of root's own directory STATE_DIR/venvs/<tenant>.
 */
export async function removeVenvLeftovers(loc: WorkspaceLocation): Promise<void> {
  const parent = path.dirname(loc.mounts.venv);
  const prefix = `${path.basename(loc.mounts.venv)}.`;
  const names = await readdir(parent).catch(() => []);
  for (const name of names.filter((n) => n.startsWith(prefix))) await removeHostEntry(parent, name);
}

/**
 * Builds the thread's venv aside (on local disk, seen as /.venv while it is built), layered on the base interpreter
 * with its system packages, reinstalls the manifest's resolved packages, then switches it in with a rename: a
 * half-built venv is never in use. Returns the interpreter's version.
 */
export async function buildVenv(deps: VenvDeps, loc: WorkspaceLocation): Promise<{ version: string; prefix: string }> {
  const final = loc.mounts.venv;
  // Where the guest path is the host path (ISOLATION=none), a venv cannot move after it is built: build in place.
  const inPlace = deps.sandbox.backend.guestMount({ mounts: loc.mounts }, "venv") === final;
  const aside = inPlace ? final : `${final}.build-${randomBytes(4).toString("hex")}`;
  await mkdir(path.dirname(final), { recursive: true, mode: 0o711 });
  // Best effort: an old venv a context still writes in may not go yet; it does not stop this build.
  await removeVenvLeftovers(loc).catch((err: unknown) => deps.log("warn", "an earlier venv could not be removed yet", { error: String(err) }));
  if (inPlace) await removeVenvDir(final);
  const mounts = { venv: aside };
  const guestVenv = deps.sandbox.backend.guestMount({ mounts: { ...loc.mounts, ...mounts } }, "venv");
  try {
    const copied = !inPlace && deps.template ? await copyTemplate(deps, deps.template, aside, loc) : false;
    if (!copied) await createVenv(deps, loc, aside, guestVenv);
    // A copy of a template one copy of which already ran in a sandbox is the same files: not started again.
    const known = copied ? (deps.template?.checked(guestVenv) ?? null) : null;
    const check = known ?? (await verifyPython(deps.run, loc, guestVenv, mounts));
    if (!check.ok) {
      throw new AppError(ErrorCode.WORKSPACE_SETUP_FAILED, "the new venv's interpreter does not run", { stderr: check.error });
    }
    if (copied && !known) deps.template?.recordCheck(check);
    await reinstallManifest(deps, loc, guestVenv, mounts);
    // The sandbox wrote into `aside`: a root writeFile there could follow a link it planted.
    const record = `${JSON.stringify({ python: check.version, built_at: new Date().toISOString() })}\n`;
    await writeWorkspaceFile(aside, "threadbox-venv.json", new TextEncoder().encode(record), { owner: loc.owner });
    if (!inPlace) await switchIn(aside, final, deps);
    return check;
  } catch (err) {
    if (!inPlace) await removeVenvDir(aside);
    throw err;
  }
}

/** A copy of the runtime's template venv, owned by the thread; false (and nothing left) when that fails. */
async function copyTemplate(deps: VenvDeps, template: VenvTemplate, aside: string, loc: WorkspaceLocation): Promise<boolean> {
  try {
    await template.copyTo(aside, loc.owner);
    await chmod(aside, 0o700);
    return true;
  } catch (err) {
    deps.log("warn", "copying the template venv failed; creating the venv in the sandbox", { error: String(err) });
    await removeVenvDir(aside);
    return false;
  }
}

/** `python -m venv` inside the thread's sandbox, as the thread's uid (the only uid that may enter it). */
async function createVenv(deps: VenvDeps, loc: WorkspaceLocation, aside: string, guestVenv: string): Promise<void> {
  // A new name in root's STATE_DIR/venvs/<tenant>, which no sandbox sees yet: nothing there to follow.
  await mkdir(aside, { mode: 0o700 });
  if (loc.owner) await lchown(aside, loc.owner.uid, loc.owner.gid);
  const created = await deps.run(loc, {
    argv: [deps.pythonBin, "-m", "venv", "--system-site-packages", "--without-pip", guestVenv],
    timeoutMs: SETUP_TIMEOUT_MS,
    mounts: { venv: aside },
  });
  if (created.exitCode !== 0) {
    throw new AppError(ErrorCode.WORKSPACE_SETUP_FAILED, `creating the Python venv failed (exit ${created.exitCode})`, {
      stderr: created.stderr.slice(-4000),
    });
  }
}

/**
 * A thread moved to a fresh runtime gets its packages back: the venv's exact set (else what was asked for), and
 * system mode's directory. A failure is logged, not fatal: the thread still works and a run reports the missing
 * module with the way to install it.
 */
async function reinstallManifest(deps: VenvDeps, loc: WorkspaceLocation, venv: string, mounts: { venv: string }): Promise<void> {
  const manifest = await readManifest(loc.dir);
  const base = { installer: deps.installer, timeoutMs: SETUP_TIMEOUT_MS, mounts };
  for (const specs of [manifest.resolved, manifest.requested]) {
    if (specs.length === 0) continue;
    const outcome = await installPackages(deps.run, loc, { ...base, python: `${venv}/bin/python`, specs });
    if (outcome.ok) {
      deps.log("info", "venv packages restored from the manifest", { packages: specs });
      break;
    }
    deps.log("warn", "restoring the manifest's packages failed", { packages: specs, error: outcome.message });
  }
  if (manifest.system.length === 0) return;
  const target = `${venv}/${SYSTEM_SITE}`;
  const outcome = await installPackages(deps.run, loc, { ...base, python: deps.pythonBin, target, specs: manifest.system });
  if (!outcome.ok) deps.log("warn", "restoring system-mode packages failed", { packages: manifest.system, error: outcome.message });
}

async function switchIn(aside: string, final: string, deps: VenvDeps): Promise<void> {
  const old = `${final}.old-${randomBytes(4).toString("hex")}`;
  const hadOld = await rename(final, old).then(
    () => true,
    () => false,
  );
  await rename(aside, final);
  // A context of the thread may still be writing in the old venv (a bind mount keeps it), so never by path, and
  // best effort: the new venv is in place; what is left goes with the next build or the thread.
  if (hadOld) {
    await removeVenvDir(old).catch((err: unknown) => deps.log("warn", "the old venv could not be removed yet", { error: String(err) }));
  }
}
