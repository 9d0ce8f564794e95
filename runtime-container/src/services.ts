import { existsSync } from "node:fs";
import type { RuntimeConfig } from "./config.ts";
import { ContextManager } from "./contexts/manager.ts";
import { ExecutionRegistry } from "./executions/registry.ts";
import type { Logger } from "./logger.ts";
import type { RunPythonDeps } from "./python/run-python.ts";
import { stdlibProber, systemInterpreters, systemPythonProber } from "./python/system-python.ts";
import { type GuestRunner, createGuestRunner } from "./runner/guest.ts";
import type { Sandbox } from "./sandbox/create.ts";
import { WorkspaceManager } from "./workspace/manager.ts";

/** Everything the routes use, built once at start-up and passed down by construction. */
export interface Services {
  config: RuntimeConfig;
  logger: Logger;
  sandbox: Sandbox;
  run: GuestRunner;
  workspaces: WorkspaceManager;
  executions: ExecutionRegistry;
  contexts: ContextManager;
  python: RunPythonDeps;
  installer: "uv" | "pip";
  interpreters: string[];
  owner: { uid: number; gid: number } | null;
  startedAt: number;
}

export function createServices(config: RuntimeConfig, logger: Logger, sandbox: Sandbox): Services {
  const run = createGuestRunner(config, sandbox);
  const { uid, gid } = sandbox.layers;
  const owner = uid === null ? null : { uid, gid: gid ?? uid };
  const installer = pythonInstaller(config);
  const interpreters = systemInterpreters();
  logger.info("python installer", { installer });
  const workspaces = new WorkspaceManager(config, sandbox, run, logger, installer, interpreters);
  return {
    config,
    logger,
    sandbox,
    run,
    workspaces,
    contexts: new ContextManager(config, sandbox, workspaces, logger),
    executions: new ExecutionRegistry(logger),
    python: {
      run,
      owner,
      installer,
      defaultUseVenv: config.PYTHON_MODE === "venv",
      systemPythonVersion: systemPythonProber(run),
      stdlibModules: stdlibProber(run, config.PYTHON_BIN),
    },
    owner,
    installer,
    interpreters,
    startedAt: Date.now(),
  };
}

/** uv when the image ships it where sandboxes see it (fast), pip otherwise. */
function pythonInstaller(config: RuntimeConfig): "uv" | "pip" {
  if (config.PYTHON_INSTALLER !== "auto") return config.PYTHON_INSTALLER;
  return ["/usr/local/bin/uv", "/usr/bin/uv"].some((p) => existsSync(p)) ? "uv" : "pip";
}
