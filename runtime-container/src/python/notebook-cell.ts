import type { CellResult, EventBody, RunLimitsRequest } from "../../../shared/src/index.ts";
import type { ContextManager } from "../contexts/manager.ts";
import type { RunOutcome } from "../runner/run.ts";
import type { WorkspaceLocation } from "../thread-location.ts";

/** One notebook cell in a fresh Python context (run_python's `options.notebook_format`). */
export interface NotebookCellRequest {
  code: string;
  cellId: string;
  /** The client's working_dir (the context resolves it as it resolves its own cwd). */
  cwd: string;
  env: Record<string, string>;
  limits?: RunLimitsRequest;
  timeoutMs: number;
  signal: AbortSignal;
  emit(body: EventBody): void;
}

export type NotebookCellRunner = (loc: WorkspaceLocation, req: NotebookCellRequest) => Promise<RunOutcome>;

/**
 * Runs the code as one cell of a temporary context, removed afterwards: figures come as `display` events (no
 * savefig), and the last expression's value too (`source: "value"`, one per mime type), so the JSON answer's
 * `displays` has both. The cell's result is told as a run's outcome (its traceback on stderr, named `<cell-ID>`), so
 * run_python's response is built from it as from a script's.
 */
export const notebookCellRunner =
  (contexts: ContextManager): NotebookCellRunner =>
  async (loc, req) => {
    const info = await contexts.create(loc, { language: "python", cwd: req.cwd, env: req.env, ...(req.limits ? { limits: req.limits } : {}) });
    try {
      const context = contexts.get(loc, info.id);
      const cell = await context.run(req.cellId, req.code, req.timeoutMs, req.emit, { signal: req.signal });
      for (const [mime, data] of Object.entries(cell.result ?? {})) req.emit({ type: "display", mime, data, source: "value" });
      return asOutcome(cell);
    } finally {
      contexts.delete(loc, info.id);
    }
  };

function asOutcome(cell: CellResult): RunOutcome {
  const value = cell.result?.["text/plain"];
  return {
    exitCode: cell.ok ? 0 : 1,
    signal: null,
    // The value is the cell's last line of output, as a notebook shows it under the cell.
    stdout: value === undefined ? cell.stdout : `${cell.stdout}${value}\n`,
    stderr: cell.error ? `${cell.stderr}${cell.error.traceback.endsWith("\n") ? cell.error.traceback : `${cell.error.traceback}\n`}` : cell.stderr,
    timedOut: cell.timed_out,
    canceled: cell.canceled === true,
    truncated: false,
    durationMs: cell.duration_ms,
  };
}
