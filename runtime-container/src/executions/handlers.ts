import type { ExecutionKind } from "../../../shared/src/index.ts";
import { cellHandler } from "./cell.ts";
import { checkpointHandler } from "./checkpoint.ts";
import { restoreHandler } from "./restore.ts";
import { execHandler } from "./exec.ts";
import { installHandler } from "./install.ts";
import type { KindHandler } from "./kind-handler.ts";
import { runCodeHandler } from "./run-code.ts";
import { runJupyterHandler } from "./run-jupyter.ts";
import { runPythonHandler } from "./run-python.ts";

/** The handler of every kind of the table (shared/src/execution-kinds.ts): a missing one is a type error. */
export const HANDLERS: { [K in ExecutionKind]: KindHandler<K> } = {
  exec: execHandler,
  run_python: runPythonHandler,
  run_code: runCodeHandler,
  install: installHandler,
  cell: cellHandler,
  run_jupyter: runJupyterHandler,
  checkpoint: checkpointHandler,
  restore: restoreHandler,
};
