import path from "node:path";
import {
  AppError,
  ErrorCode,
  type Notebook,
  type NotebookCellResult,
  type NotebookOutput,
  type NotebookResult,
} from "../../../shared/src/index.ts";
import type { InterpreterContext } from "../contexts/interpreter-context.ts";
import { CellOutputs, parseNotebook, runnableCells, withOutputs } from "../notebooks/notebook-doc.ts";
import { notebookRel, readNotebookFile, writeNotebookFile } from "../notebooks/notebook-file.ts";
import { cellInstall } from "./cell.ts";
import { inWorkspace, type KindHandler, timeoutS } from "./kind-handler.ts";

/**
 * The `run_jupyter` kind: a notebook's code cells, in order, in a Python context (the one named, or a fresh one
 * removed afterwards). Each cell's output streams as it comes; a notebook from the workspace gets its outputs and
 * execution counts written back. The notebook is read and checked before the execution exists, so a bad one is a
 * 4xx (INVALID_NOTEBOOK, FILE_NOT_FOUND, NOT_A_FILE for a planted link or FIFO, PAYLOAD_TOO_LARGE).
 */
export const runJupyterHandler: KindHandler<"run_jupyter"> = async (s, { loc, req }) => {
  const rel = typeof req.notebook === "string" ? notebookRel(req.notebook) : null;
  let nb: Notebook;
  if (rel === null) nb = parseNotebook(req.notebook, "the notebook");
  else {
    if (!(await s.workspaces.exists(loc))) throw new AppError(ErrorCode.FILE_NOT_FOUND, `"${rel}" does not exist.`, { path: rel });
    nb = await readNotebookFile(loc.dir, rel, s.config.MAX_BODY_BYTES);
  }
  const named = req.context === undefined ? null : s.contexts.get(loc, req.context);
  if (named && named.language !== "python") {
    throw new AppError(ErrorCode.VALIDATION_FAILED, `context ${named.id} is ${named.language}; a notebook runs in a python context`);
  }
  if (named?.isBusy) throw new AppError(ErrorCode.CONTEXT_BUSY, `context ${named.id} is running a cell; one cell runs at a time`);
  const budgetMs = timeoutS(s, req.timeout) * 1000;

  return inWorkspace(s, loc, "the notebook was not started", async (_ws, ctx, { env }) => {
    const started = performance.now();
    // Counted from the workspace being ready (a new thread's set-up is not the notebook's time).
    const deadline = started + budgetMs;
    // A notebook runs in its own directory, as Jupyter runs it.
    const cwd = rel === null ? undefined : `/${path.posix.dirname(rel) === "." ? "" : path.posix.dirname(rel)}`;
    const context: InterpreterContext = named ?? s.contexts.get(loc, (await s.contexts.create(loc, { language: "python", cwd })).id);
    const cells: NotebookCellResult[] = [];
    const ran = new Map<number, { execution_count: number; outputs: NotebookOutput[] }>();
    const todo = runnableCells(nb);
    let timedOut = false;
    let canceled = false;
    try {
      for (const { index, code } of todo) {
        const left = Math.floor(deadline - performance.now());
        if (left <= 0) {
          timedOut = true;
          break;
        }
        if (ctx.signal.aborted) {
          canceled = true;
          break;
        }
        const outputs = new CellOutputs();
        const emit = (body: Parameters<typeof ctx.emit>[0]) => {
          outputs.add(body);
          ctx.emit(body);
        };
        // `%pip install` in a cell goes the way it goes in a context's cell (into the thread's venv, recorded).
        const install = cellInstall(s, loc, ctx);
        const r = await context.run(`${ctx.executionId}-${index}`, code, left, emit, { env, signal: ctx.signal, install });
        const out = outputs.finish(r);
        ran.set(index, { execution_count: r.execution_count, outputs: out });
        cells.push({ index, execution_count: r.execution_count, ok: r.ok, outputs: out, error: r.error, timed_out: r.timed_out, duration_ms: r.duration_ms });
        if (r.canceled) canceled = true;
        if (r.timed_out) timedOut = true;
        if (canceled || timedOut || (!r.ok && req.stop_on_error)) break;
      }
    } finally {
      if (!named) s.contexts.delete(loc, context.id);
    }
    const done = withOutputs(nb, ran);
    let written = false;
    let writeError: string | undefined;
    if (rel !== null) {
      try {
        await s.quota.admit(loc, "the notebook's outputs were not written");
        await writeNotebookFile(loc.dir, rel, done, loc.owner);
        written = true;
      } catch (err) {
        // The run finished: a notebook that cannot be written back (replaced by a directory, over the quota) is said so.
        writeError = err instanceof Error ? err.message : String(err);
        ctx.logger.warn("notebook not written back", { path: rel, error: writeError });
      } finally {
        s.quota.invalidate(loc);
      }
    }
    const value: NotebookResult = {
      execution_id: ctx.executionId,
      context_id: context.id,
      ok: cells.length === todo.length && cells.every((c) => c.ok) && !timedOut && !canceled,
      cells,
      not_run: todo.length - cells.length,
      timed_out: timedOut,
      ...(canceled ? { canceled: true as const } : {}),
      path: rel,
      written,
      ...(writeError !== undefined ? { write_error: writeError } : {}),
      ...(rel === null ? { notebook: done } : {}),
      duration_ms: Math.round(performance.now() - started),
    };
    return { kind: "notebook", value };
  });
};
