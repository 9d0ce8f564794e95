import { rm } from "node:fs/promises";
import path from "node:path";
import { AppError, ErrorCode, type ResultPayload, type RunPythonParams } from "../../../shared/src/index.ts";
import type { ExecutionContext } from "../executions/registry.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { RunOutcome } from "../runner/run.ts";
import { requireWorkspaceDir, resolveGuestDir } from "../workspace/guest-path.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";
import { buildRunPythonResponse } from "./response.ts";
import { changedFiles, snapshotWorkspace } from "./snapshot.ts";
import { writeRequestFiles } from "./write-files.ts";

/** Package installation is not built yet: say so before any work is done (checked again inside the run). */
export function assertSupported(params: RunPythonParams): void {
  if (params.packages.length > 0 || params.options.requirements_file || params.options.install_jupyter) {
    throw new AppError(
      ErrorCode.NOT_IMPLEMENTED,
      "package installation (packages, requirements_file, install_jupyter) is not available on this runtime yet",
    );
  }
}

export interface RunPythonDeps {
  run: GuestRunner;
  /** Version of a non-venv interpreter (`use_venv: false`, `python_cmd`), probed once per command. */
  systemPythonVersion(ws: ReadyWorkspace, command: string): Promise<string>;
  owner: { uid: number; gid: number } | null;
}

/**
 * seed 003's run_python: files written first (relative to working_dir), the code run from a script file under
 * /.threadbox, its error fields read from the traceback, and every file the call created or changed reported.
 */
export async function runPython(
  deps: RunPythonDeps,
  ws: ReadyWorkspace,
  params: RunPythonParams,
  timeoutS: number,
  ctx: ExecutionContext,
): Promise<ResultPayload> {
  assertSupported(params);
  const dir = resolveGuestDir(ws.guestRoot, params.working_dir);
  if (dir.workspaceRel === null) {
    throw new AppError(ErrorCode.INVALID_PATH, `working_dir ${params.working_dir} must be inside the workspace`);
  }
  const before = await snapshotWorkspace(ws.loc.dir);
  await writeRequestFiles(ws.loc.dir, dir.workspaceRel, params.files, deps.owner);
  await requireWorkspaceDir(ws.loc.dir, dir, params.working_dir);

  const runDir = path.join(".threadbox", "runs", ctx.executionId);
  await writeRequestFiles(ws.loc.dir, runDir, { "main.py": params.code }, deps.owner);
  const scriptPath = path.posix.join(ws.guestRoot, runDir, "main.py");

  const useVenv = params.options.use_venv !== false && !params.options.python_cmd;
  const interpreter = useVenv
    ? `${ws.venv}/bin/python`
    : `/usr/bin/${params.options.python_cmd ?? "python3"}`;
  const pythonVersion = useVenv ? ws.marker.python_version : await deps.systemPythonVersion(ws, interpreter);

  // Python puts the script's directory on sys.path, not the working directory: add it so `files` import.
  const userPath = params.environment.PYTHONPATH;
  const env = { ...params.environment, PYTHONPATH: userPath ? `${dir.guest}:${userPath}` : dir.guest };

  let out: RunOutcome;
  try {
    out = await deps.run(ws.loc, {
      argv: [interpreter, scriptPath],
      cwd: dir.guest,
      env,
      stdin: params.stdin,
      timeoutMs: timeoutS * 1000,
      signal: ctx.signal,
      onOutput: (stream, data) => ctx.emit({ type: stream, data }),
    });
  } finally {
    await rm(path.join(ws.loc.dir, runDir), { recursive: true, force: true });
  }
  const created = changedFiles(before, await snapshotWorkspace(ws.loc.dir));
  return {
    kind: "run_python",
    value: buildRunPythonResponse(out, {
      executionId: ctx.executionId,
      scriptPath,
      pythonVersion,
      virtualEnv: useVenv ? ws.marker.virtual_env : null,
      filesCreated: created,
      timeoutS,
    }),
  };
}

