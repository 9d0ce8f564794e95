import { constants } from "node:os";
import type { RunPythonResponse } from "../../../shared/src/index.ts";
import type { RunOutcome } from "../runner/run.ts";
import { moduleNotFoundHint } from "../python/import-names.ts";
import { type PythonFailure, analyzePythonFailure } from "../python/traceback.ts";

export interface ResponseContext {
  executionId: string;
  scriptPath: string;
  pythonVersion: string;
  virtualEnv: string | null;
  filesCreated: string[];
  packagesInstalled: string[];
  timeoutS: number;
}

/** The shell reports a signal death as 128 + N; name it so a segfault or OOM kill is told apart from exit(1). */
function signalOf(out: RunOutcome): string | null {
  if (out.signal) return out.signal;
  if (out.exitCode <= 128 || out.exitCode > 128 + 64) return null;
  const name = Object.entries(constants.signals).find(([, n]) => n === out.exitCode - 128)?.[0];
  return name ?? null;
}

/**
 * What stopped the run when the runtime did, whatever the traceback says: the SIGKILL of a run stopped for its disk
 * quota is not an out-of-memory kill, and one over its memory limit may have printed a child's traceback first.
 */
function stoppedBecause(out: RunOutcome, found: PythonFailure | null): PythonFailure | null {
  if (out.timedOut) return found;
  if (out.diskQuotaExceeded) {
    return { error_type: "DiskQuotaExceeded", error_code: "RUNTIME_ERROR", message: "the run was stopped: its thread went over its disk quota (see stderr)" };
  }
  if (out.memoryLimitExceeded && found) {
    return {
      error_type: "MemoryError",
      error_code: "MEMORY_ERROR",
      message: "the run's processes together went over its memory limit (limits.memory_mb): the kernel killed one and the run was stopped",
    };
  }
  return found;
}

/** The run_python tool's response: `text` for the model, `metadata` for programs. */
export function buildRunPythonResponse(out: RunOutcome, rc: ResponseContext): RunPythonResponse {
  const analyzed = analyzePythonFailure({
    stderr: out.stderr,
    exitCode: out.exitCode,
    signal: signalOf(out),
    timedOut: out.timedOut,
    scriptPath: rc.scriptPath,
  });
  const failure = stoppedBecause(out, analyzed);
  let text: string;
  if (!failure) text = out.stdout.replace(/\n$/, "");
  else if (out.timedOut) text = `Python execution timed out after ${rc.timeoutS} s (EXECUTION_TIMEOUT)`;
  else text = `Python execution failed: ${failure.message}`;
  if (failure?.missing_module) text += `\n\n${moduleNotFoundHint(failure.missing_module)}`;
  if (out.canceled) text += "\n\n[execution cancelled]";
  if (out.truncated) text += "\n\n[output truncated: stdout and stderr together reached the output cap; the run was stopped]";
  if (out.diskQuotaExceeded) text += "\n\n[stopped: the thread went over its disk quota (DISK_QUOTA_EXCEEDED); delete files to free space]";
  return {
    text,
    is_error: failure !== null || out.canceled,
    metadata: {
      language: "python",
      exit_code: out.exitCode,
      stdout: out.stdout,
      stderr: out.stderr,
      duration: Math.round(out.durationMs) / 1000,
      timed_out: out.timedOut,
      packages_installed: rc.packagesInstalled,
      python_version: rc.pythonVersion,
      virtual_env: rc.virtualEnv,
      files_created: rc.filesCreated,
      ...(failure?.error_type ? { error_type: failure.error_type } : {}),
      ...(failure?.error_line ? { error_line: failure.error_line } : {}),
      ...(failure?.error_code ? { error_code: failure.error_code } : {}),
      truncated: out.truncated,
      ...(out.diskQuotaExceeded ? { disk_quota_exceeded: true } : {}),
      ...(out.memoryLimitExceeded ? { memory_limit_exceeded: true } : {}),
      execution_id: rc.executionId,
    },
  };
}

/** `packages` could not be installed: the code did not run (PACKAGE_INSTALL_FAILED). */
export function installFailedResponse(message: string, rc: ResponseContext): RunPythonResponse {
  return {
    text: `Package installation failed; the code was not run.\n${message}`,
    is_error: true,
    metadata: {
      language: "python",
      exit_code: 1,
      stdout: "",
      stderr: message,
      duration: 0,
      timed_out: false,
      packages_installed: [],
      python_version: rc.pythonVersion,
      virtual_env: rc.virtualEnv,
      files_created: rc.filesCreated,
      error_type: "PackageInstallError",
      error_code: "PACKAGE_INSTALL_FAILED",
      truncated: false,
      execution_id: rc.executionId,
    },
  };
}
