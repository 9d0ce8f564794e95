import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import {
  AppError,
  type ContextInfo,
  type ProcessInfo,
  ErrorCode,
  type ExecutionKind,
  type ThreadState,
  threadRef,
} from "../../../shared/src/index.ts";
import { type Principal, requireKey } from "../auth/middleware.ts";
import { type ThreadTarget, fromRpc } from "../http/context.ts";
import { threadStub } from "../http/thread-stub.ts";
import { resolveThreadMounts } from "../routes/thread-mounts.ts";
import { fileContent, listFiles, readFile, writeFile } from "./files.ts";
import { processCall, processLogs } from "./processes.ts";
import type { ProgressReporter } from "./progress.ts";
import { executionResult, structuredResult } from "./results.ts";
import { runExecution } from "./run.ts";
import type { ToolInput, ToolName } from "./schemas.ts";

/** What a tool's handler gets besides its input: the caller, its thread (when the tool works on one), its progress. */
export interface ToolCall {
  env: Env;
  principal: Principal;
  /** The thread `sandbox_id` names (or the token's); create_thread has none (it must not be used there). */
  target: ThreadTarget;
  progress: ProgressReporter | undefined;
}

/** The tool's input without `sandbox_id` (already resolved to `call.target`), except for create_thread's own. */
type Handler<N extends ToolName> = (input: ToolInput<N>, call: ToolCall) => Promise<CallToolResult>;

const execution =
  <N extends ToolName>(kind: ExecutionKind) =>
  async (input: ToolInput<N>, call: ToolCall): Promise<CallToolResult> => {
    const { payload, displays } = await runExecution(call.target, kind, input, { progress: call.progress });
    return executionResult(payload, displays);
  };

/** The body of a context call as the runtime answered it, or its error. */
function contextAnswer<T>({ status, body }: { status: number; body: string }): T {
  const parsed = JSON.parse(body) as T | { error: { code: ErrorCode; message: string; details?: unknown } };
  if (status >= 400 && typeof parsed === "object" && parsed !== null && "error" in parsed) {
    throw new AppError(parsed.error.code, parsed.error.message, parsed.error.details);
  }
  return parsed as T;
}

function bytesOf(input: ToolInput<"write_file">): Uint8Array {
  const given = [input.content, input.content_base64].filter((v) => v !== undefined);
  if (given.length !== 1) throw new AppError(ErrorCode.VALIDATION_FAILED, "give the file as content (text) or content_base64 (bytes): exactly one of them");
  if (input.content !== undefined) return new TextEncoder().encode(input.content);
  try {
    return Uint8Array.from(atob(input.content_base64 as string), (ch) => ch.charCodeAt(0));
  } catch {
    throw new AppError(ErrorCode.VALIDATION_FAILED, "content_base64 is not valid base64");
  }
}

/** Each tool: what it does for the model, and how (the same calls as the API's routes). */
export const TOOLS: { [N in ToolName]: { description: string; run: Handler<N> } } = {
  run_python: {
    description:
      "Run a Python 3 program in the sandbox (numpy, pandas, matplotlib installed; `packages` are pip-installed first). " +
      "Files persist between calls, variables do not (use create_context + run_cell). Returns stdout; on failure the " +
      "error with its type and line. For a chart, plt.savefig('chart.png') then read_file it (or draw it in run_cell); " +
      "capture_screenshot: true returns screenshots of the program's windows; {interval_ms, max_frames} frames during the " +
      "run (each with its time_ms), {window: \"<title>\"} one window, {region: {x, y, width, height}} one area.",
    run: execution("run_python"),
  },
  run_code: {
    description: "Run a program in python, bash, javascript or typescript (Node.js; top-level await works) in the sandbox.",
    run: execution("run_code"),
  },
  exec: {
    description: "Run a bash command in the sandbox (Debian; the working directory is the workspace, which persists). Returns the exit code, stdout and stderr.",
    run: execution("exec"),
  },
  install_packages: {
    description: "Install packages into the sandbox: Python packages with pip (default) or npm packages (language: javascript).",
    run: execution("install"),
  },
  create_context: {
    description: "Start a stateful interpreter (python by default, or javascript / typescript): run_cell in it keeps variables, imports and the working directory.",
    run: async (input, { target }) => {
      const info = contextAnswer<ContextInfo>(await fromRpc(target.stub.context(target.access, { method: "POST", body: input }, target.createAs)));
      return structuredResult(`context ${info.id} (${info.language}) started: pass context_id "${info.id}" to run_cell`, info);
    },
  },
  run_cell: {
    description: "Run a cell in a context from create_context, like a notebook: state persists between cells; the last expression's value is returned, figures as images.",
    run: async ({ context_id, ...cell }, call) => {
      const { payload, displays } = await runExecution(call.target, "cell", cell, { params: { ctx: context_id }, progress: call.progress });
      return executionResult(payload, displays);
    },
  },
  run_jupyter: {
    description:
      "Run a Jupyter notebook's code cells in order in a Python context: notebook is a path in the workspace (its outputs " +
      "are written back into the file) or an nbformat 4 document. Returns each cell's outputs and error; stops at the first " +
      "failing cell unless stop_on_error is false. Pass context (from create_context) to share its variables.",
    run: execution("run_jupyter"),
  },
  restart_context: {
    description:
      "Restart a context from create_context: a fresh interpreter with the same id, language, cwd and env; its variables " +
      "and imports are gone, and a cell running in it is stopped. Use it when the interpreter is stuck or its state is bad.",
    run: async ({ context_id }, { target }) => {
      const op = { method: "POST", id: context_id, action: "restart" } as const;
      const info = contextAnswer<ContextInfo>(await fromRpc(target.stub.context(target.access, op)));
      return structuredResult(`context ${info.id} (${info.language}) restarted: its state is gone, its id stays`, info);
    },
  },
  write_file: {
    description: "Write a file in the sandbox's workspace (parents created; an existing file is replaced): text as content, bytes as content_base64.",
    run: async (input, { env, target }) => {
      const written = await writeFile(env, target, input.path, bytesOf(input));
      return structuredResult(`wrote ${written.path} (${written.size} bytes)`, written);
    },
  },
  read_file: {
    description: "Read a file of the sandbox's workspace: text as text, PNG/JPEG/GIF/WebP as an image, other bytes as an embedded resource.",
    run: async ({ path }, { env, target }) => {
      const { bytes, type } = await readFile(env, target, path);
      return fileContent(target.ref.thread, path, bytes, type);
    },
  },
  list_files: {
    description: "List a directory of the sandbox's workspace (its root by default).",
    run: async ({ path, recursive }, { env, target }) => {
      const list = await listFiles(env, target, path, recursive ?? false);
      const lines = list.entries.map((e) => `${e.type === "directory" ? "dir " : "file"} ${e.path}${e.type === "file" ? ` (${e.size} bytes)` : ""}`);
      return structuredResult(lines.length === 0 ? `${list.path || "/"} is empty` : lines.join("\n"), list);
    },
  },
  start_process: {
    description:
      "Start a long-running program in the background (a dev server, a watcher, a training loop): a bash command that " +
      "keeps running after this call, beside the other tools' runs, until it ends or is stopped. Returns its id; read its " +
      "output with process_logs. A server in it is reachable from exec on localhost.",
    run: async (input, { target }) => {
      const info = await processCall<ProcessInfo>(target, { op: "start", body: input });
      return structuredResult(`process ${info.id} started: pass process_id "${info.id}" to process_logs`, info);
    },
  },
  process_logs: {
    description: "A background process's output so far (stdout and stderr) and its status (running, exited with its code, killed); pass after: last_seq to read only what is new.",
    run: async ({ process_id, after }, { env, target }) => processLogs(env, target, process_id, after ?? -1),
  },
  create_thread: {
    description:
      "Create a thread (a sandbox) with settings: network \"none\" cuts it off from any network. Not needed otherwise: " +
      "the other tools create their thread on first use. Returns its id (sandbox_id) and state.",
    run: async (input, { env, principal }) => {
      requireKey(principal);
      const ref = threadRef(principal.tenant, input.sandbox_id ?? crypto.randomUUID());
      // As POST /v1/threads: its own mounts and the tenant's DEFAULT_MOUNTS, each checked to exist.
      const mounts = await resolveThreadMounts(env, ref.tenant, input.mounts);
      const { created, state } = await fromRpc(threadStub(env, ref).create(ref, input.network, input.import_policy, mounts));
      if (!created || !state) throw new AppError(ErrorCode.THREAD_EXISTS, `thread ${ref.thread} already exists`);
      return structuredResult(`created thread ${ref.thread}: pass sandbox_id "${ref.thread}" to the other tools`, state satisfies ThreadState);
    },
  },
};
