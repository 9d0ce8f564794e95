import { readWorkspaceFile, writeWorkspaceFile } from "../files/file-ops.ts";
import type { Owner } from "../files/safe-open.ts";

/**
 * The thread's Python manifest lives in the workspace (so it travels with it): `pyproject.toml`'s
 * `[project] dependencies` holds what was asked for, `[tool.threadbox] resolved` the exact versions installed.
 * A venv rebuilt on another runtime installs `resolved`.
 */
export interface Manifest {
  requested: string[];
  /** Everything installed in the venv, exactly (a later install may have changed an earlier one's version). */
  resolved: string[];
  /** The same for system mode's per-thread directory. */
  system: string[];
}

const STRING = /"((?:[^"\\]|\\.)*)"/g;

function readArray(toml: string, section: string, key: string): string[] {
  const body = sectionBody(toml, section);
  const m = new RegExp(`^${key}\\s*=\\s*\\[([\\s\\S]*?)\\]`, "m").exec(body ?? "");
  return m ? [...(m[1] ?? "").matchAll(STRING)].map((s) => JSON.parse(`"${s[1]}"`) as string) : [];
}

function sectionBody(toml: string, section: string): string | null {
  const start = toml.indexOf(`[${section}]`);
  if (start < 0) return null;
  const rest = toml.slice(start + section.length + 2);
  const next = rest.search(/^\[/m);
  return next < 0 ? rest : rest.slice(0, next);
}

function writeArray(toml: string, section: string, key: string, values: string[]): string {
  const array = `${key} = [${values.map((v) => `\n    ${JSON.stringify(v)},`).join("")}${values.length ? "\n" : ""}]`;
  const body = sectionBody(toml, section);
  if (body === null) return `${toml.replace(/\n*$/, "\n")}\n[${section}]\n${array}\n`;
  const start = toml.indexOf(`[${section}]`) + section.length + 2;
  const existing = new RegExp(`^${key}\\s*=\\s*\\[[\\s\\S]*?\\]`, "m");
  const updated = existing.test(body) ? body.replace(existing, array) : `\n${array}${body}`;
  return toml.slice(0, start) + updated + toml.slice(start + body.length);
}

/** PEP 503 normalized project name of a requirement (`Foo_Bar[extra]>=1` → `foo-bar`), or null (URLs). */
export function requirementName(spec: string): string | null {
  const m = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[|[<>=!~;@ ]|$)/.exec(spec);
  if (!m?.[1] || spec.includes("://")) return null;
  return m[1].toLowerCase().replace(/[-_.]+/g, "-");
}

/** Far above a real manifest; a bigger one is not read. */
const MANIFEST_MAX_BYTES = 1_000_000;

/**
 * The manifest's text, read like the file API reads (the sandbox owns the workspace and may have put a link to a host
 * file, a FIFO, a socket or a directory there, e.g. from a `.pth` that runs at every interpreter start): never through
 * a link, never blocking, regular files only. Anything else counts as no manifest ("").
 */
async function readManifestText(workspace: string): Promise<string> {
  const file = await readWorkspaceFile(workspace, "pyproject.toml", MANIFEST_MAX_BYTES).catch(() => null);
  return file === null ? "" : new TextDecoder().decode(file.data);
}

function parseManifest(toml: string): Manifest {
  return {
    requested: readArray(toml, "project", "dependencies"),
    resolved: readArray(toml, "tool.threadbox", "resolved"),
    system: readArray(toml, "tool.threadbox", "system"),
  };
}

export async function readManifest(workspace: string): Promise<Manifest> {
  return parseManifest(await readManifestText(workspace));
}

/**
 * Records an install: a name asked for again replaces its old entry in `dependencies`; the installed set of the
 * venv (or of the system-mode directory) replaces the old one, so a rebuild reproduces it exactly. The file is
 * replaced by rename (a link there is replaced, never written through); a directory in its place is an AppError.
 */
export async function recordInstall(
  workspace: string,
  install: { requested: string[]; environment: string[]; system: boolean },
  owner: Owner,
): Promise<void> {
  let toml = await readManifestText(workspace);
  const current = parseManifest(toml);
  const merge = (old: string[], added: string[]) => {
    const names = new Set(added.map((s) => requirementName(s) ?? s));
    return [...old.filter((s) => !names.has(requirementName(s) ?? s)), ...added];
  };
  if (!toml.includes("[project]")) toml = `[project]\nname = "workspace"\nversion = "0.1.0"\n${toml}`;
  toml = writeArray(toml, "project", "dependencies", merge(current.requested, install.requested));
  toml = writeArray(toml, "tool.threadbox", install.system ? "system" : "resolved", install.environment);
  await writeWorkspaceFile(workspace, "pyproject.toml", new TextEncoder().encode(toml), { owner });
}
