/**
 * Turns a finished `python -u <script>` run into the run_python tool's error fields. Python's traceback on stderr
 * is the only structured account of a failure we get, so we read the last one it printed and fall back
 * to the exit code or signal when there is none.
 */
import type { PythonErrorCode } from "../../../shared/src/index.ts";

export interface PythonFailure {
  error_type?: string;
  /** A line of the user's script: the innermost frame in it, never a helper module's or the stdlib's. */
  error_line?: number;
  error_code?: PythonErrorCode;
  /** One line, e.g. "ZeroDivisionError: division by zero". */
  message: string;
  /** Top-level module name of a ModuleNotFoundError ("a" for "No module named 'a.b'"). */
  missing_module?: string;
}

export interface FinishedPythonRun {
  stderr: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Guest path the script was run from; frames in other files are not the user's lines. */
  scriptPath: string;
}

interface PythonException {
  type: string;
  detail: string;
  summary: string;
  scriptLine?: number;
}

// The fatal traceback is printed last, and user output before it can be unbounded.
const TAIL_CHARS = 64 * 1024;
// Real frame lines are short; skipping long lines keeps the frame regex cheap on hostile output.
const MAX_FRAME_LINE = 4096;
const MAX_SUMMARY = 500;

const TRACEBACK_HEADER = "Traceback (most recent call last):";
const GROUP_HEADER = /^ *\+ Exception Group Traceback \(most recent call last\):$/;
// `, in <func>` is absent on the pseudo-frame Python prints for a SyntaxError.
const FRAME = /^  File "(.+)", line (\d+)(, in .+)?$/;
const EXCEPTION_TYPE = /^[A-Za-z_][\w.<>]*$/;
// PYTHON_COLORS / FORCE_COLOR make Python 3.13+ colour tracebacks even on a pipe.
const ANSI = /\x1b\[[0-9;]*m/g;
const SYNTAX_ERRORS = new Set(["SyntaxError", "IndentationError", "TabError"]);

export function analyzePythonFailure(run: FinishedPythonRun): PythonFailure | null {
  const { exitCode, signal, timedOut } = run;
  if (exitCode === 0 && signal === null && !timedOut) return null;
  const exc = lastException(run.stderr, run.scriptPath);
  if (timedOut) {
    return {
      error_type: exc?.type ?? "TimeoutError",
      error_line: exc?.scriptLine,
      error_code: "EXECUTION_TIMEOUT",
      message: exc ? `Execution timed out (${exc.summary})` : "Execution timed out",
    };
  }
  if (exc) return describeException(exc);
  // The kernel's OOM killer is the usual sender of a SIGKILL we did not send for a timeout.
  if (signal === "SIGKILL") {
    return {
      error_type: signal,
      error_code: "MEMORY_ERROR",
      message: "Process was killed by SIGKILL, probably because it ran out of memory",
    };
  }
  if (signal !== null) {
    return { error_type: signal, error_code: "RUNTIME_ERROR", message: `Process terminated by ${signal}` };
  }
  const message = exitCode === null ? "Process ended without an exit code" : `Process exited with code ${exitCode}`;
  return { error_type: "SystemExit", error_code: "RUNTIME_ERROR", message };
}

function describeException(exc: PythonException): PythonFailure {
  const failure: PythonFailure = { error_type: exc.type, error_line: exc.scriptLine, message: exc.summary };
  const name = exc.type.slice(exc.type.lastIndexOf(".") + 1);
  if (SYNTAX_ERRORS.has(name)) failure.error_code = "PYTHON_SYNTAX_ERROR";
  else if (name === "ModuleNotFoundError") {
    failure.error_code = "MODULE_NOT_FOUND";
    const missing = /^No module named '([^'.]+)/.exec(exc.detail)?.[1];
    if (missing !== undefined) failure.missing_module = missing;
  } else if (name === "ImportError") failure.error_code = "IMPORT_ERROR";
  // numpy's _ArrayMemoryError and torch's OutOfMemoryError are allocation failures under other names.
  else if (name.endsWith("MemoryError")) failure.error_code = "MEMORY_ERROR";
  else failure.error_code = "RUNTIME_ERROR";
  return failure;
}

/** The final exception of the last traceback (after any chained ones), or undefined if none was printed. */
function lastException(stderr: string, scriptPath: string): PythonException | undefined {
  const lines = tailOf(stderr).replace(ANSI, "").split("\n");
  let start = -1;
  // Top-level exception-group lines carry a "  | " margin that we strip to read them like any other.
  let margin = "";
  for (let i = lines.length - 1; i >= 0 && start < 0; i--) {
    const line = lines[i]!;
    if (line === TRACEBACK_HEADER) start = i + 1;
    else if (GROUP_HEADER.test(line)) {
      start = i + 1;
      margin = `${line.slice(0, line.indexOf("+"))}| `;
    } else if (isSyntaxPseudoFrame(line) && !(lines[i - 1] ?? "").startsWith(" ")) {
      // A SyntaxError in the script itself is printed without a "Traceback" header.
      start = i;
    }
  }
  if (start < 0) return undefined;

  let scriptLine: number | undefined;
  for (let i = start; i < lines.length; i++) {
    if (margin !== "" && !lines[i]!.startsWith(margin)) return undefined;
    const line = lines[i]!.slice(margin.length);
    if (line.startsWith(" ")) {
      const frame = line.length <= MAX_FRAME_LINE ? FRAME.exec(line) : null;
      if (frame?.[1] === scriptPath) scriptLine = Number(frame[2]);
      continue;
    }
    return parseExceptionLine(line, scriptLine);
  }
  return undefined;
}

/** The last TAIL_CHARS of stderr, starting at a line boundary when there is one. */
function tailOf(stderr: string): string {
  if (stderr.length <= TAIL_CHARS) return stderr;
  const tail = stderr.slice(-TAIL_CHARS);
  const firstBreak = tail.indexOf("\n");
  return firstBreak < 0 ? tail : tail.slice(firstBreak + 1);
}

function isSyntaxPseudoFrame(line: string): boolean {
  if (!line.startsWith('  File "') || line.length > MAX_FRAME_LINE) return false;
  const frame = FRAME.exec(line);
  return frame !== null && frame[3] === undefined;
}

/** `Type: detail` or a bare `Type`; a leading `__main__.` is noise to the user who wrote the class. */
function parseExceptionLine(line: string, scriptLine: number | undefined): PythonException | undefined {
  const colon = line.indexOf(":");
  const rawType = (colon < 0 ? line : line.slice(0, colon)).trimEnd();
  if (!EXCEPTION_TYPE.test(rawType)) return undefined;
  const type = rawType.startsWith("__main__.") ? rawType.slice("__main__.".length) : rawType;
  const detail = colon < 0 ? "" : line.slice(colon + 1).trim();
  const summary = (detail === "" ? type : `${type}: ${detail}`).slice(0, MAX_SUMMARY);
  return { type, detail, summary, scriptLine };
}
