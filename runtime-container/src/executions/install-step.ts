import { AppError, ErrorCode, type EventBody, normalizeWorkspacePath } from "../../../shared/src/index.ts";
import { deleteWorkspacePath, readWorkspaceFile, writeWorkspaceFile } from "../files/file-ops.ts";
import { fsCode } from "../files/safe-open.ts";
import type { GuestRunner } from "../runner/guest.ts";
import { INSTALLING_MARK, SYSTEM_SITE } from "../python/venv-layout.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";
import { type InstallOutcome, installPackages } from "../python/installer.ts";
import { recordInstall } from "../python/manifest.ts";

export interface InstallDeps {
  run: GuestRunner;
  installer: "uv" | "pip";
}

export interface InstallStep {
  specs: string[];
  /** System mode: the image's interpreter, installing into the thread's own directory (SYSTEM_SITE). */
  system?: { python: string };
  pipArgs?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  emit: (body: EventBody) => void;
}

/**
 * Installs into the thread's venv with progress as `install` events, and records the result in the manifest.
 * While it runs, a mark in the venv says so: if the runtime dies mid-install, the next call rebuilds the venv from
 * the manifest instead of trusting a half-installed one.
 */
export async function installIntoThread(deps: InstallDeps, ws: ReadyWorkspace, step: InstallStep): Promise<InstallOutcome> {
  const { specs, emit } = step;
  emit({ type: "install", phase: "start", packages: specs, message: `installing ${specs.join(" ")} with ${deps.installer}` });
  // The venv is the sandbox's to write in: a root writeFile could follow a link it planted there.
  await writeWorkspaceFile(ws.loc.mounts.venv, INSTALLING_MARK, new TextEncoder().encode(`${new Date().toISOString()}\n`), { owner: ws.loc.owner });
  let outcome: InstallOutcome;
  try {
    outcome = await installPackages(deps.run, ws.loc, {
      specs,
      python: step.system?.python ?? `${ws.venv}/bin/python`,
      target: step.system ? systemSite(ws) : undefined,
      pipArgs: step.pipArgs,
      installer: deps.installer,
      timeoutMs: step.timeoutMs,
      signal: step.signal,
      onOutput: (_stream, text) => emit({ type: "install", phase: "progress", packages: specs, message: text }),
    });
  } finally {
    // Unlinked in the venv directory we hold, like every other entry the sandbox could have replaced.
    await deleteWorkspacePath(ws.loc.mounts.venv, INSTALLING_MARK, { recursive: true }).catch((err: unknown) => {
      if (!(err instanceof AppError && err.code === ErrorCode.FILE_NOT_FOUND) && fsCode(err) !== "ENOENT") throw err;
    });
  }
  if (!outcome.ok) {
    emit({ type: "install", phase: "error", packages: specs, message: outcome.message });
    return outcome;
  }
  const install = { requested: specs, environment: outcome.environment, system: step.system !== undefined };
  // The packages are installed whatever the thread made of its manifest (a directory in its place): say so, not fail.
  await recordInstall(ws.loc.dir, install, ws.loc.owner).catch((err: unknown) => {
    if (!(err instanceof AppError)) throw err;
    emit({ type: "install", phase: "progress", packages: specs, message: `the manifest (pyproject.toml) was not updated: ${err.message}` });
  });
  emit({ type: "install", phase: "done", packages: outcome.installed, message: `installed ${outcome.installed.join(" ")}` });
  return outcome;
}

/** The run_python tool's `requirements_file`: its requirement lines become specs (so they reach the manifest by name). */
export async function requirementsFrom(workspace: string, baseRel: string, file: string): Promise<string[]> {
  const rel = normalizeWorkspacePath(baseRel ? `${baseRel}/${file}` : file);
  if (rel === null) throw new AppError(ErrorCode.INVALID_PATH, `requirements_file ${file} is not a workspace path`);
  // Read like the file API does: a planted link never makes the runtime read a host file.
  const { data } = await readWorkspaceFile(workspace, rel, 1_000_000);
  return new TextDecoder()
    .decode(data)
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("-"));
}

/**
 * System mode's per-thread package directory (system mode): beside the venv on local disk, never the image's
 * site-packages; on PYTHONPATH for system-mode runs.
 */
export function systemSite(ws: ReadyWorkspace): string {
  return `${ws.venv}/${SYSTEM_SITE}`;
}
