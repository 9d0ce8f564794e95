import {
  AppError,
  type CellResult,
  ErrorCode,
  type EventBody,
  type Notebook,
  type NotebookCell,
  type NotebookOutput,
  NotebookSchema,
} from "../../../shared/src/index.ts";

/** The document as nbformat 4, or INVALID_NOTEBOOK naming what is wrong with it. */
export function parseNotebook(value: unknown, what: string): Notebook {
  const parsed = NotebookSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "notebook"}: ${i.message}`);
  throw new AppError(ErrorCode.INVALID_NOTEBOOK, `${what} is not an nbformat 4 notebook (${issues.join("; ")})`, { issues });
}

/** The JSON text of a notebook file, parsed and checked. */
export function parseNotebookText(text: string, what: string): Notebook {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError(ErrorCode.INVALID_NOTEBOOK, `${what} is not JSON: ${(err as Error).message}`);
  }
  return parseNotebook(value, what);
}

export const sourceText = (cell: NotebookCell): string => (Array.isArray(cell.source) ? cell.source.join("") : cell.source);

/** Code cells with something to run (Jupyter skips empty ones), with their index among all the cells. */
export const runnableCells = (nb: Notebook): { index: number; code: string }[] =>
  nb.cells.flatMap((cell, index) => (cell.cell_type === "code" && sourceText(cell).trim() !== "" ? [{ index, code: sourceText(cell) }] : []));

/** JSON mimes hold a value in nbformat, not text. */
const mimeValue = (mime: string, data: string): unknown => {
  if (!/^application\/(.*\+)?json$/.test(mime)) return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
};

/** A cell's nbformat outputs, built from its events as they pass and from its result at the end. */
export class CellOutputs {
  readonly outputs: NotebookOutput[] = [];

  add(body: EventBody): void {
    if (body.type === "stdout" || body.type === "stderr") {
      const last = this.outputs.at(-1);
      // Consecutive writes to one stream are one output, as Jupyter shows them.
      if (last?.output_type === "stream" && last.name === body.type) last.text += body.data;
      else this.outputs.push({ output_type: "stream", name: body.type, text: body.data });
    } else if (body.type === "display" && body.source !== "value") {
      this.outputs.push({ output_type: "display_data", data: { [body.mime]: mimeValue(body.mime, body.data) }, metadata: {} });
    }
  }

  finish(result: CellResult): NotebookOutput[] {
    if (result.result) {
      const data = Object.fromEntries(Object.entries(result.result).map(([mime, v]) => [mime, mimeValue(mime, v)]));
      this.outputs.push({ output_type: "execute_result", execution_count: result.execution_count, data, metadata: {} });
    }
    if (result.error) {
      const traceback = result.error.traceback.replace(/\n+$/, "").split("\n");
      this.outputs.push({ output_type: "error", ename: result.error.type, evalue: result.error.value, traceback });
    }
    return this.outputs;
  }
}

/**
 * The notebook with the outputs and execution counts of the cells that ran; the other code cells keep theirs (given
 * the fields nbformat requires when they lacked them). Everything else is kept as it came.
 */
export function withOutputs(nb: Notebook, ran: Map<number, { execution_count: number; outputs: NotebookOutput[] }>): Notebook {
  const cells = nb.cells.map((cell, index) => {
    if (cell.cell_type !== "code") return cell;
    const done = ran.get(index);
    if (done) return { ...cell, metadata: cell.metadata ?? {}, execution_count: done.execution_count, outputs: done.outputs };
    return { ...cell, metadata: cell.metadata ?? {}, execution_count: cell.execution_count ?? null, outputs: cell.outputs ?? [] };
  });
  return { ...nb, cells };
}
