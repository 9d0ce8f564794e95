/** The files a new workspace starts with (the workspace layout). Existing files are never overwritten. */
export const MARKER_PATH = ".threadbox/workspace.json";
/** The workspace entries the runtime makes itself: a planted link in their place is removed (see planted.ts). */
export const OWN_ENTRIES: readonly { name: string; kind: "dir" | "file" }[] = [
  { name: ".threadbox", kind: "dir" },
  { name: ".bashrc", kind: "file" },
  { name: "pyproject.toml", kind: "file" },
  { name: "package.json", kind: "file" },
];
export function bashrc(guestRoot: string, venv: string): string {
  const root = guestRoot.replace(/\/$/, "");
  return `# threadbox workspace shell set-up; sourced by every \`exec\` (BASH_ENV) and interactive shells.
export HOME=${guestRoot}
export PYTHONUNBUFFERED=1
export PYTHONDONTWRITEBYTECODE=1
export MPLBACKEND=Agg
# Activation without bin/activate, which would prepend the venv to PATH once more in every shell.
export VIRTUAL_ENV=${venv}
case ":$PATH:" in *":${venv}/bin:"*) ;; *) export PATH="${venv}/bin:${root}/node_modules/.bin:$PATH" ;; esac
`;
}

export function pyprojectToml(): string {
  return `[project]
name = "workspace"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = []
`;
}

export function packageJson(): string {
  return `${JSON.stringify({ name: "workspace", private: true, type: "module", dependencies: {} }, null, 2)}\n`;
}
