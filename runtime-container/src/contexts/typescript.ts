import { SourceMap } from "node:module";
import { type TransformFailure, transform } from "esbuild";
import type { CellError } from "../../../shared/src/index.ts";
import { cellSyntaxError } from "./js-cell.ts";

/** 1-based, as in stack traces. */
export interface Position {
  line: number;
  column: number;
}

/** TypeScript turned into JavaScript, with the way back from a generated position to the line the user wrote. */
export type Transpiled =
  | { ok: true; code: string; original: (line: number, column: number) => Position | null }
  | { ok: false; error: CellError };

/**
 * Strips the types of a TypeScript source with esbuild (enums, namespaces, parameter properties and decorators
 * included, which Node's own type stripping does not do), here in the runtime so any Node in the sandbox runs it.
 * `keepImports`: an import whose bindings this source does not use stays (a notebook cell imports for later cells);
 * a type must then be imported with `import type`.
 */
export async function transpileTypeScript(code: string, opts: { sourcefile: string; keepImports: boolean; inlineMap?: boolean }): Promise<Transpiled> {
  try {
    const out = await transform(code, {
      loader: "ts",
      sourcefile: opts.sourcefile,
      sourcemap: opts.inlineMap ? "inline" : "external",
      // The oldest Node the project supports: what it lacks (decorators, for one) is lowered.
      target: "node20",
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: opts.keepImports } },
    });
    const map = opts.inlineMap ? null : new SourceMap(JSON.parse(out.map));
    const original = (line: number, column: number) => {
      const origin = map?.findOrigin(line, column);
      return origin && "lineNumber" in origin ? { line: origin.lineNumber, column: origin.columnNumber } : null;
    };
    return { ok: true, code: out.code, original };
  } catch (err) {
    return { ok: false, error: transpileError(code, err) };
  }
}

function transpileError(code: string, err: unknown): CellError {
  const first = (err as Partial<TransformFailure>).errors?.[0];
  return cellSyntaxError(code, first?.text ?? (err instanceof Error ? err.message : String(err)), first?.location);
}
