import path from "node:path";
import { AppError, ErrorCode, type ImportPolicy, type ResultPayload, type RunPythonParams } from "../../../shared/src/index.ts";
import { type KindHandler, inWorkspace, timeoutS } from "./kind-handler.ts";
import type { ExecutionContext } from "./registry.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { RunOutcome } from "../runner/run.ts";
import { type GuestDir, requireWorkspaceDir, resolveGuestDir } from "../workspace/guest-path.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";
import { fixForImport } from "../python/import-names.ts";
import { registerVenvKernel } from "../python/jupyter-kernel.ts";
import { IMPORT_POLICY_SOURCE, POLICY_HOOK_DIR, importPolicyEnv } from "../python/import-policy.ts";
import { type InstallDeps, installIntoThread, requirementsFrom, systemSite } from "./install-step.ts";
import { type ResponseContext, buildRunPythonResponse, installFailedResponse } from "./run-python-response.ts";
import { changedFiles, snapshotWorkspace } from "../python/snapshot.ts";
import { analyzePythonFailure } from "../python/traceback.ts";
import { type ReserveRoom, requestFilesRoom, removeRunDir, writeRequestFiles } from "../files/request-files.ts";
import type { DiskQuota } from "../quota/disk-quota.ts";
import type { NotebookCellRunner } from "../python/notebook-cell.ts";

export interface RunPythonDeps extends InstallDeps {
  /** Version of a non-venv interpreter (`use_venv: false`, `python_cmd`), probed once per command. */
  systemPythonVersion(loc: WorkspaceLocation, command: string): Promise<string>;
  /** The runtime's PYTHON_MODE: a venv per thread, or the image's own interpreter (system mode). */
  defaultUseVenv: boolean;
  /** The base interpreter's sys.stdlib_module_names, so auto-install never tries to install the standard library. */
  stdlibModules(loc: WorkspaceLocation): Promise<ReadonlySet<string>>;
  /** The disk quota the request's files (and the script) are written under. */
  quota?: DiskQuota;
  /** The thread's import policy (none: null), enforced in the code's interpreter (python/import-policy.ts). */
  importPolicy?(loc: WorkspaceLocation): ImportPolicy | null;
  /** `options.notebook_format`: the code as one cell of a temporary context (absent: refused). */
  notebookCell?: NotebookCellRunner;
}

/**
 * The `run_python` kind. A `python_cmd` this runtime does not offer, and `notebook_format` with what a context cannot
 * do (another interpreter, stdin), are 400s before anything runs (never silently run another way).
 */
export const runPythonHandler: KindHandler<"run_python"> = (s, { loc, req }) => {
  const cmd = req.options.python_cmd;
  if (cmd && !s.interpreters.includes(cmd)) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, `python_cmd ${cmd} is not offered here; choose one of: ${s.interpreters.join(", ")}`);
  }
  if (req.options.notebook_format) {
    const conflict = cmd ? "python_cmd" : req.options.use_venv === false ? "use_venv: false" : req.stdin !== undefined ? "stdin" : null;
    if (!s.python.notebookCell) throw new AppError(ErrorCode.NOT_IMPLEMENTED, "options.notebook_format is not available on this runtime");
    if (conflict) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, `options.notebook_format runs the code as a notebook cell in the thread's venv, which takes no ${conflict}; leave one of them out`);
    }
  }
  return inWorkspace(s, loc, "the run was not started", (ws, ctx, { run }) => runPython({ ...s.python, run }, ws, req, timeoutS(s, req.timeout), ctx));
};

/**
 * The run_python tool: files written first (relative to working_dir), `packages` installed into the thread's venv
 * (failure: PACKAGE_INSTALL_FAILED, the code not run), the code run from a script under /.threadbox, its error fields
 * read from the traceback; with `auto_install`, a missing module is installed and the code re-run once.
 */
export async function runPython(
  deps: RunPythonDeps,
  ws: ReadyWorkspace,
  params: RunPythonParams,
  timeoutS: number,
  ctx: ExecutionContext,
): Promise<ResultPayload> {
  const dir = resolveGuestDir(ws.guestRoot, params.working_dir);
  if (dir.workspaceRel === null) {
    throw new AppError(ErrorCode.INVALID_PATH, `working_dir ${params.working_dir} must be inside the workspace`);
  }
  const useVenv = (params.options.use_venv ?? deps.defaultUseVenv) && !params.options.python_cmd;
  const before = await snapshotWorkspace(ws.loc.dir);
  const reserve = deps.quota ? requestFilesRoom(deps.quota, ws.loc) : undefined;
  await writeRequestFiles(ws.loc.dir, dir.workspaceRel, params.files, ws.loc.owner, reserve);
  await requireWorkspaceDir(ws.loc.dir, dir, params.working_dir);

  const interpreter = useVenv ? `${ws.venv}/bin/python` : `/usr/bin/${params.options.python_cmd ?? "python3"}`;
  const rc: ResponseContext = {
    executionId: ctx.executionId,
    scriptPath: path.posix.join(ws.guestRoot, ".threadbox", "runs", ctx.executionId, "main.py"),
    pythonVersion: useVenv ? ws.marker.python_version : await deps.systemPythonVersion(ws.loc, interpreter),
    virtualEnv: useVenv ? ws.marker.virtual_env : null,
    filesCreated: [],
    packagesInstalled: [],
    timeoutS,
  };
  const install = async (specs: string[]) => {
    const outcome = await installIntoThread(deps, ws, {
      specs,
      pipArgs: params.options.pip_args,
      timeoutMs: timeoutS * 1000,
      signal: ctx.signal,
      emit: ctx.emit,
      system: useVenv ? undefined : { python: interpreter },
    });
    if (outcome.ok) rc.packagesInstalled.push(...outcome.installed);
    return outcome;
  };

  const specs = [
    ...params.packages,
    ...(params.options.requirements_file ? await requirementsFrom(ws.loc.dir, dir.workspaceRel, params.options.requirements_file) : []),
    ...(params.options.install_jupyter ? ["ipykernel"] : []),
  ];
  if (specs.length > 0) {
    const outcome = await install(specs);
    if (!outcome.ok) return { kind: "run_python", value: installFailedResponse(outcome.message, rc) };
  }
  // In the image's own Python (use_venv: false) the system kernelspec is the right one already.
  if (params.options.install_jupyter && useVenv) {
    const kernel = await registerVenvKernel(deps.run, ws, { timeoutMs: timeoutS * 1000, signal: ctx.signal, emit: ctx.emit });
    if (!kernel.ok) return { kind: "run_python", value: installFailedResponse(kernel.message, rc) };
  }

  const policy = importPolicyEnv(deps.importPolicy?.(ws.loc) ?? null);
  const notebook = params.options.notebook_format ? deps.notebookCell : undefined;
  const runOnce = notebook
    ? () => {
        // The cell's traceback names it `<cell-ID>`: that is "the script" the error line is read from.
        const cellId = `${ctx.executionId}-nb`;
        rc.scriptPath = `<cell-${cellId}>`;
        const req = { code: params.code, cellId, cwd: params.working_dir, env: params.environment, limits: params.limits };
        return notebook(ws.loc, { ...req, timeoutMs: timeoutS * 1000, signal: ctx.signal, emit: ctx.emit });
      }
    : () => runScript(deps.run, ws, params, dir, interpreter, rc, ctx, policy, reserve);
  let out = await runOnce();
  let note = "";
  const failure = analyzePythonFailure({ ...out, scriptPath: rc.scriptPath });
  if (params.options.auto_install && failure?.missing_module) {
    const fix = fixForImport(failure.missing_module, await deps.stdlibModules(ws.loc));
    if ("install" in fix) {
      const outcome = await install([fix.install]);
      note = outcome.ok
        ? `[auto_install: '${failure.missing_module}' was missing; installed ${outcome.installed.join(" ")} and ran the code again]\n`
        : `[auto_install: installing ${fix.install} for '${failure.missing_module}' failed: ${outcome.message}]\n`;
      if (outcome.ok) out = await runOnce();
    }
  }
  // The manifest update is bookkeeping, not a file the code created.
  const after = await snapshotWorkspace(ws.loc.dir);
  if (rc.packagesInstalled.length > 0) before.set("pyproject.toml", after.get("pyproject.toml") ?? "");
  rc.filesCreated = changedFiles(before, after);
  const response = buildRunPythonResponse(out, rc);
  return { kind: "run_python", value: { ...response, text: note + response.text } };
}

/** One run of the code: written to a script under /.threadbox, with the working directory importable. */
async function runScript(
  run: GuestRunner,
  ws: ReadyWorkspace,
  params: RunPythonParams,
  dir: GuestDir,
  interpreter: string,
  rc: ResponseContext,
  ctx: ExecutionContext,
  policy: Record<string, string>,
  reserve?: ReserveRoom,
): Promise<RunOutcome> {
  const runDir = path.join(".threadbox", "runs", ctx.executionId);
  // With an import policy, its finder comes in as the first sitecustomize on PYTHONPATH (it loads the next one).
  const hooked = Object.keys(policy).length > 0;
  const files = { "main.py": params.code, ...(hooked ? { [`${POLICY_HOOK_DIR}/sitecustomize.py`]: IMPORT_POLICY_SOURCE } : {}) };
  await writeRequestFiles(ws.loc.dir, runDir, files, ws.loc.owner, reserve);
  // Python puts the script's directory on sys.path, not the working directory: add it so `files` import.
  // System mode finds the thread's own packages in its per-thread directory.
  const hook = hooked ? [path.posix.join(path.posix.dirname(rc.scriptPath), POLICY_HOOK_DIR)] : [];
  const paths = [...hook, dir.guest, ...(interpreter.startsWith(ws.venv) ? [] : [systemSite(ws)]), params.environment.PYTHONPATH];
  const env = { ...params.environment, PYTHONPATH: paths.filter(Boolean).join(":"), ...policy };
  try {
    return await run(ws.loc, {
      argv: [interpreter, rc.scriptPath],
      cwd: dir.guest,
      env,
      stdin: params.stdin,
      limits: params.limits,
      timeoutMs: rc.timeoutS * 1000,
      signal: ctx.signal,
      onOutput: (stream, data) => ctx.emit({ type: stream, data }),
    });
  } finally {
    await removeRunDir(ws.loc.dir, runDir, (msg, fields) => ctx.logger.warn(msg, fields));
  }
}
