/** `threadbox/client`: the typed client of the threadbox API (fetch only: Node ≥ 20, Workers, Deno, Bun, browsers). */
export { type CreateThreadOptions, Threadbox, type ThreadHandleOptions } from "./threadbox.ts";
export {
  Thread,
  type ExecOptions,
  type InstallOptions,
  type Packages,
  type RunCodeLanguage,
  type RunCodeOptions,
  type RunCodeResult,
  type RunJupyterOptions,
  type RunPythonOptions,
} from "./thread.ts";
export { Files } from "./files.ts";
export { Mounts } from "./mounts.ts";
export { Processes, type StartProcessOptions, type WaitProcessOptions } from "./processes.ts";
export { Context, Contexts, type CreateContextOptions, type RunCellOptions } from "./contexts.ts";
export { Executions } from "./executions.ts";
export { Checkpoints, type CreateCheckpointOptions } from "./checkpoints.ts";
export { Ports } from "./ports.ts";
export type { TerminalOptions, WebSocketLike } from "./terminal.ts";
export { Tokens, type ThreadToken } from "./tokens.ts";
export { ExecutionStream } from "./stream.ts";
export { type ResultOptions, type ResultValues, type RunCallbacks, type StreamOptions, resultValue } from "./run.ts";
export { type ClientErrorCode, ThreadboxError } from "./errors.ts";
export type { CallOptions, Credential, ResumeOptions, ThreadboxOptions } from "./options.ts";
export type {
  CellResult,
  ContextInfo,
  DisplayOutput,
  ErrorCode,
  ExecResult,
  ExecutionEvent,
  ExecutionRecord,
  ExposedPort,
  FileEntry,
  FileList,
  FileWritten,
  ImportPolicy,
  InstallResult,
  MountSummary,
  NetworkMode,
  NetworkSetting,
  NetworkPolicy,
  NetworkPolicyView,
  EgressSecret,
  RunPythonResponse,
  ThreadState,
} from "../../shared/src/index.ts";
