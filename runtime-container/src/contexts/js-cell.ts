import { type ImportDeclaration, type Pattern, type Program, type VariableDeclaration, parse } from "acorn";
import type { CellError } from "../../../shared/src/index.ts";

/** A cell rewritten for the Node kernel (`prefix`: what line 1 starts with), or the syntax error that stops it. */
export type RewrittenCell = { ok: true; code: string; prefix: number } | { ok: false; error: CellError };

/** The helper the kernel defines for named imports (see kernel.cjs). */
export const IMPORT_HELPER = "__threadbox_import";

/**
 * Rewrites a JavaScript cell into a script the kernel runs with `vm.runInThisContext`, with notebook semantics:
 * top-level declarations become global `var`s plus assignments (they outlive the cell and a later cell may declare
 * them again), static imports become `await import()`, the body is wrapped in an async function (top-level
 * await), and the final expression statement is returned boxed (so a promise comes back as a promise, not awaited).
 * Every edit stays on its own line and the wrapper opens on line 1, so a line in the script is the line in the cell.
 */
export function rewriteCell(source: string): RewrittenCell {
  const code = source.startsWith("#!") ? source.replace(/^#![^\n]*/, "") : source;
  let program: Program;
  try {
    program = parse(code, { ecmaVersion: "latest", sourceType: "script", allowAwaitOutsideFunction: true, allowImportExportEverywhere: true, locations: true });
  } catch (err) {
    return { ok: false, error: syntaxError(code, err) };
  }
  const edits: Edit[] = [];
  const names = new Set<string>();
  const text = (node: { start: number; end: number }) => code.slice(node.start, node.end);
  program.body.forEach((node, i) => {
    if (node.type === "VariableDeclaration" && node.kind !== "using" && node.kind !== "await using") {
      declaration(node, text, edits, names);
    } else if (node.type === "FunctionDeclaration") {
      names.add(node.id.name);
      // The declaration stays (hoisted inside the cell); the global is set where it was declared.
      edits.push({ start: node.start, end: node.start, text: `globalThis.${node.id.name} = ${node.id.name}; ` });
    } else if (node.type === "ClassDeclaration") {
      names.add(node.id.name);
      edits.push({ start: node.start, end: node.start, text: `${node.id.name} = ` });
    } else if (node.type === "ImportDeclaration") {
      edits.push({ start: node.start, end: node.end, text: importStatement(node, text, names) + "\n".repeat(lineBreaks(text(node))) });
    } else if (node.type === "ExpressionStatement" && i === program.body.length - 1) {
      // A lone string is a directive to the parser, but in a cell it is the value asked for.
      edits.push({ start: node.expression.start, end: node.expression.start, text: "return { value: (" });
      edits.push({ start: node.expression.end, end: node.expression.end, text: ") }" });
    }
  });
  const prefix = `${names.size > 0 ? `var ${[...names].join(", ")}; ` : ""}(async () => { `;
  return { ok: true, code: `${prefix}${applyEdits(code, edits)}\n})()`, prefix: prefix.length };
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** `let a = 1, {b} = o;` → `;(a = 1, {b} = o);` — the leading `;` keeps a previous line from calling the `(`. */
function declaration(node: VariableDeclaration, text: (n: { start: number; end: number }) => string, edits: Edit[], names: Set<string>): void {
  const first = node.declarations[0];
  const last = node.declarations.at(-1);
  if (!first || !last) return;
  edits.push({ start: node.start, end: first.start, text: ";(" });
  for (const d of node.declarations) {
    for (const name of boundNames(d.id)) names.add(name);
    // `var x;` keeps the value it has (as a second `var` would); `let x;` starts again from undefined.
    if (!d.init) edits.push({ start: d.id.end, end: d.id.end, text: node.kind === "var" ? ` = ${text(d.id)}` : " = void 0" });
  }
  edits.push({ start: last.end, end: last.end, text: ")" });
}

function importStatement(node: ImportDeclaration, text: (n: { start: number; end: number }) => string, names: Set<string>): string {
  const from = text(node.source);
  const options = node.attributes.length ? `, { with: { ${node.attributes.map(text).join(", ")} } }` : "";
  const loaded = `await import(${from}${options})`;
  const namespace = node.specifiers.find((s) => s.type === "ImportNamespaceSpecifier")?.local.name;
  const bindings = node.specifiers.flatMap((s) => {
    names.add(s.local.name);
    if (s.type === "ImportNamespaceSpecifier") return [];
    const imported = s.type === "ImportDefaultSpecifier" ? "default" : s.imported.type === "Identifier" ? s.imported.name : String(s.imported.value);
    return [{ imported, local: s.local.name }];
  });
  const parts = namespace ? [`${namespace} = ${loaded};`] : [];
  if (bindings.length > 0) {
    const pattern = bindings.map((b) => `${JSON.stringify(b.imported)}: ${b.local}`).join(", ");
    const wanted = JSON.stringify(bindings.map((b) => b.imported));
    parts.push(`;({ ${pattern} } = ${IMPORT_HELPER}(${namespace ?? loaded}, ${wanted}, ${from}));`);
  }
  return parts.length > 0 ? parts.join(" ") : `${loaded};`;
}

function boundNames(pattern: Pattern | null): string[] {
  if (!pattern) return [];
  switch (pattern.type) {
    case "Identifier":
      return [pattern.name];
    case "ObjectPattern":
      return pattern.properties.flatMap((p) => boundNames(p.type === "RestElement" ? p.argument : p.value));
    case "ArrayPattern":
      return pattern.elements.flatMap(boundNames);
    case "RestElement":
      return boundNames(pattern.argument);
    case "AssignmentPattern":
      return boundNames(pattern.left);
    default:
      return [];
  }
}

function applyEdits(code: string, edits: Edit[]): string {
  let out = code;
  // From the end, so earlier offsets stay valid; edits at one offset end up in the order they were pushed.
  const ordered = edits.map((e, i) => ({ ...e, i })).sort((a, b) => b.start - a.start || b.i - a.i);
  for (const e of ordered) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

const lineBreaks = (s: string) => s.split("\n").length - 1;

/** acorn's error as a cell error: the message without its "(line:column)". */
function syntaxError(code: string, err: unknown): CellError {
  const loc = (err as { loc?: { line: number; column: number } }).loc;
  return cellSyntaxError(code, err instanceof Error ? err.message.replace(/ \(\d+:\d+\)$/, "") : String(err), loc);
}

/** A syntax error found before the cell runs, its traceback showing the line with a caret under the column. */
export function cellSyntaxError(code: string, message: string, loc?: { line: number; column: number } | null): CellError {
  const shown = loc ? `  line ${loc.line}:\n    ${code.split("\n")[loc.line - 1] ?? ""}\n    ${" ".repeat(loc.column)}^\n` : "";
  return { type: "SyntaxError", value: message, traceback: `${shown}SyntaxError: ${message}`, line: loc?.line ?? null };
}
