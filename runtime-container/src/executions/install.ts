import type { PackagesRequest, ResultPayload } from "../../../shared/src/index.ts";
import { readWorkspaceFile } from "../files/file-ops.ts";
import type { InstallOutcome } from "../python/installer.ts";
import { type InstallDeps, installIntoThread } from "./install-step.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";
import { type KindHandler, inWorkspace } from "./kind-handler.ts";
import type { ExecutionContext } from "./registry.ts";

const INSTALL_TIMEOUT_MS = 300_000;

/** The `install` kind (`POST …/packages`). */
export const installHandler: KindHandler<"install"> = (s, { loc, req }) =>
  inWorkspace(s, loc, "the install was not started", (ws, ctx) => runPackages({ ...s.python, bun: s.sandbox.bun }, ws, req, ctx));

/** `POST …/packages`: Python into the thread's venv (recorded in its manifest), npm packages into its workspace. */
export async function runPackages(deps: InstallDeps & { bun: string | null }, ws: ReadyWorkspace, req: PackagesRequest, ctx: ExecutionContext): Promise<ResultPayload> {
  const started = performance.now();
  const outcome =
    req.language === "python"
      ? await installIntoThread(deps, ws, {
          specs: req.packages,
          pipArgs: req.pip_args,
          timeoutMs: INSTALL_TIMEOUT_MS,
          signal: ctx.signal,
          emit: ctx.emit,
        })
      : await installNode(deps, ws, req.packages, ctx);
  return {
    kind: "install",
    value: {
      execution_id: ctx.executionId,
      language: req.language,
      ok: outcome.ok,
      installed: outcome.installed,
      message: outcome.message,
      duration_ms: Math.round(performance.now() - started),
    },
  };
}

/** bun (npm where the sandboxes have no bun) in the workspace root: package.json and node_modules live there. */
async function installNode(deps: InstallDeps & { bun: string | null }, ws: ReadyWorkspace, specs: string[], ctx: ExecutionContext): Promise<InstallOutcome> {
  const bun = deps.bun;
  const argv = bun
    ? [bun, "add", "--no-progress", ...specs]
    : ["npm", "install", "--no-audit", "--no-fund", "--no-progress", "--save", ...specs];
  ctx.emit({ type: "install", phase: "start", packages: specs, message: `installing ${specs.join(" ")} with ${bun ? "bun" : "npm"}` });
  const out = await deps.run(ws.loc, {
    argv,
    cwd: ws.guestRoot,
    timeoutMs: INSTALL_TIMEOUT_MS,
    signal: ctx.signal,
    onOutput: (_s, text) => ctx.emit({ type: "install", phase: "progress", packages: specs, message: text }),
  });
  if (out.exitCode !== 0) {
    const message = out.stderr.trim().split("\n").slice(-8).join("\n") || `exit ${out.exitCode}`;
    ctx.emit({ type: "install", phase: "error", packages: specs, message });
    return { ok: false, installed: [], message, environment: [] };
  }
  const installed: string[] = [];
  for (const spec of specs) {
    const name = /^(@[^/@]+\/[^@]+|[^@]+)/.exec(spec)?.[1];
    if (!name) continue;
    const pkg = await readWorkspaceFile(ws.loc.dir, `node_modules/${name}/package.json`, 1_000_000).catch(() => null);
    const version = pkg ? (JSON.parse(new TextDecoder().decode(pkg.data)) as { version?: string }).version : undefined;
    if (version) installed.push(`${name}@${version}`);
  }
  ctx.emit({ type: "install", phase: "done", packages: installed, message: `installed ${installed.join(" ")}` });
  return { ok: true, installed, message: "", environment: installed };
}
