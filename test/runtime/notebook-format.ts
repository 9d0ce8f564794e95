import { execFileSync } from "node:child_process";

/** Test notebooks: nbformat 4 documents, and the host's nbformat (Debian's python3-nbformat) to validate them. */

export const code = (source: string | string[]) => ({ cell_type: "code", metadata: {}, source, execution_count: null, outputs: [] });
export const markdown = (source: string) => ({ cell_type: "markdown", metadata: {}, source });

export const notebookOf = (cells: object[]) => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: "python3", display_name: "Python 3", language: "python" } },
  cells: cells.map((c, i) => ({ id: `cell-${i}`, ...c })),
});

/**
 * Validates a notebook file with nbformat (the system python: pyenv's shim on PATH has no nbformat); throws with
 * nbformat's message when it is not valid.
 */
export function validateNotebook(file: string): void {
  const check = "import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print('valid')";
  const out = execFileSync("/usr/bin/python3", ["-c", check, file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (out.trim() !== "valid") throw new Error(`nbformat: ${out}`);
}
