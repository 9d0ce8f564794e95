import type { CellError, ContextLanguage } from "../../../shared/src/index.ts";
import { rewriteCell } from "./js-cell.ts";
import { NODE_KERNEL, PYTHON_KERNEL } from "./kernel-source.ts";
import { transpileTypeScript } from "./typescript.ts";

/** An error as a kernel reports it: a cell error, plus (from the Node kernel) the column in the script. */
export type KernelError = CellError & { column?: number | null };

/** A cell ready for its kernel, with the way back from the kernel's error to the cell; or the cell's syntax error. */
export type PreparedCell = { ok: true; code: string; toCell: (error: KernelError) => CellError } | { ok: false; error: CellError };

/** What differs between the languages of a context: the interpreter's command line and what a cell becomes. */
export interface Kernel {
  /** The sandboxed command line; `venv` is the thread's virtualenv as the sandbox sees it. */
  argv(venv: string): string[];
  prepare(code: string, cellId: string): Promise<PreparedCell>;
}

const asIs = ({ column: _, ...error }: KernelError): CellError => error;

const python: Kernel = {
  argv: (venv) => [`${venv}/bin/python`, "-u", "-c", PYTHON_KERNEL],
  prepare: async (code) => ({ ok: true, code, toCell: asIs }),
};

const javascript: Kernel = {
  argv: () => ["node", "-e", NODE_KERNEL],
  async prepare(code) {
    const cell = rewriteCell(code);
    return cell.ok ? { ok: true, code: cell.code, toCell: asIs } : cell;
  },
};

/** TypeScript: types stripped here (esbuild), then the JavaScript cell; errors mapped back through the source map. */
const typescript: Kernel = {
  argv: javascript.argv,
  async prepare(code, cellId) {
    const ts = await transpileTypeScript(code, { sourcefile: "cell.ts", keepImports: true });
    if (!ts.ok) return ts;
    const cell = rewriteCell(ts.code);
    if (!cell.ok) return { ok: false, error: { ...cell.error, line: cell.error.line && (ts.original(cell.error.line, 1)?.line ?? null) } };
    // Line 1 of the script starts with the wrapper: the kernel's columns there are that much further right.
    const at = (line: number, column: number) => ts.original(line, line === 1 ? Math.max(1, column - cell.prefix) : column);
    const file = `<cell-${cellId}>`;
    const toCell = ({ column, ...error }: KernelError): CellError => ({
      ...error,
      line: error.line === null ? null : (at(error.line, column ?? 1)?.line ?? null),
      traceback: error.traceback.replaceAll(new RegExp(`${file}:(\\d+):(\\d+)`, "g"), (whole, line: string, col: string) => {
        const origin = at(Number(line), Number(col));
        return origin ? `${file}:${origin.line}:${origin.column}` : whole;
      }),
    });
    return { ok: true, code: cell.code, toCell };
  },
};

export const KERNELS: Record<ContextLanguage, Kernel> = { python, javascript, typescript };
