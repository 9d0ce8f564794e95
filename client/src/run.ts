import type {
  CellResult,
  Checkpoint,
  RestoreResult,
  DisplayOutput,
  ExecResult,
  ExecutionEvent,
  InstallResult,
  NotebookResult,
  ResultPayload,
  RunPythonResponse,
} from "../../shared/src/index.ts";
import { displayOf } from "../../shared/src/index.ts";
import { ThreadboxError } from "./errors.ts";
import type { CallOptions } from "./options.ts";
import type { ExecutionStream } from "./stream.ts";

type Of<T extends ExecutionEvent["type"]> = Extract<ExecutionEvent, { type: T }>;

/** Callbacks of the non-streaming form: output as it happens, then the typed result. */
export interface RunCallbacks {
  onStdout?: (data: string, event: Of<"stdout">) => void | Promise<void>;
  onStderr?: (data: string, event: Of<"stderr">) => void | Promise<void>;
  /** A figure, screenshot or displayed value (base64 for binary mimes such as image/png). */
  onDisplay?: (display: DisplayOutput, event: Of<"display">) => void | Promise<void>;
  /** Every event, the ones above included. */
  onEvent?: (event: ExecutionEvent) => void | Promise<void>;
}

/** A streaming call: `for await (const event of call)`. */
export type StreamOptions = CallOptions & { stream: true };
/** A call that resolves to its result; the callbacks see the output while it runs. */
export type ResultOptions = CallOptions & RunCallbacks & { stream?: false };

export type ResultKind = ResultPayload["kind"];
/** Each call's result; a cell's has `displays` too when it showed figures (the others declare it already). */
export interface ResultValues {
  exec: ExecResult;
  run_python: RunPythonResponse;
  install: InstallResult;
  cell: CellResult & { displays?: DisplayOutput[] };
  notebook: NotebookResult;
  checkpoint: Checkpoint;
  restore: RestoreResult;
}

/**
 * Reads an execution to its end and resolves to its result, shaped as the API's JSON answer: the result value, with
 * `displays` when the run showed figures or screenshots. A platform failure (`error` event) is thrown as a
 * ThreadboxError; user code that failed is a result (non-zero `exit_code`, `is_error`, `ok: false`).
 */
export async function collect<K extends ResultKind>(stream: ExecutionStream, kinds: readonly K[], callbacks: RunCallbacks): Promise<ResultValues[K]> {
  const displays: DisplayOutput[] = [];
  for await (const event of stream) {
    await callbacks.onEvent?.(event);
    switch (event.type) {
      case "stdout":
        await callbacks.onStdout?.(event.data, event);
        break;
      case "stderr":
        await callbacks.onStderr?.(event.data, event);
        break;
      case "display": {
        const display = displayOf(event);
        displays.push(display);
        await callbacks.onDisplay?.(display, event);
        break;
      }
      case "result":
        return resultValue(event, kinds, displays);
      case "error":
        throw ThreadboxError.fromEvent(event);
      default:
        break;
    }
  }
  // ExecutionStream ends only after a terminal event or by throwing.
  throw ThreadboxError.invalidResponse("the execution stream ended without a result");
}

/** The value of a `result` event of one of the expected kinds (what a call promises to resolve to). */
export function resultValue<K extends ResultKind>(event: Of<"result">, kinds: readonly K[], displays: DisplayOutput[] = []): ResultValues[K] {
  const { kind, value } = event.result;
  if (!(kinds as readonly string[]).includes(kind)) {
    throw ThreadboxError.invalidResponse(`expected a ${kinds.join(" or ")} result, got ${kind}`);
  }
  const out = displays.length > 0 ? { ...value, displays } : value;
  return out as ResultValues[K];
}
