import { AppError, ErrorCode, type ExecutionRecord, type ProcessInfo } from "../../../shared/src/index.ts";
import type { ThreadRow, ThreadStore } from "./store.ts";
import type { TerminalRow } from "./terminal-store.ts";
import type { ThreadProcesses } from "./thread-processes.ts";
import type { ThreadTerminals } from "./thread-terminals.ts";

/**
 * The thread's history as `GET …/executions` answers it: its executions, with its background processes and terminals
 * as records of kinds `process` and `terminal` (history only: never queued). Running ones are refreshed from the
 * runtime first, when it answers.
 */
export class ThreadHistory {
  constructor(
    private readonly store: ThreadStore,
    private readonly processes: ThreadProcesses,
    private readonly terminals: ThreadTerminals,
  ) {}

  async list(thread: ThreadRow, limit: number): Promise<ExecutionRecord[]> {
    await Promise.all([this.processes.refresh(thread).catch(() => undefined), this.terminals.see(thread)]);
    const processes = this.processes.store.list(limit).map(processRecord);
    return mergeHistory(limit, this.store.list(limit), processes, this.terminals.store.list(limit).map(terminalRecord));
  }

  async get(thread: ThreadRow, id: string): Promise<ExecutionRecord> {
    const execution = this.store.execution(id);
    if (execution) return execution;
    const terminal = this.terminals.store.get(id);
    if (terminal) {
      await this.terminals.see(thread);
      return terminalRecord(this.terminals.store.get(id) ?? terminal);
    }
    if (this.processes.store.get(id)) {
      await this.processes.refresh(thread).catch(() => undefined);
      const process = this.processes.store.get(id);
      if (process) return processRecord(process);
    }
    throw new AppError(ErrorCode.EXECUTION_NOT_FOUND, `no execution ${id} in this thread`);
  }

  /** A process or terminal has no events (its output, if any, is elsewhere): say so rather than "not found". */
  refuseEvents(id: string): void {
    if (!this.processes.store.get(id) && !this.terminals.store.get(id)) return;
    const hint = id.startsWith("proc_") ? `; its output is at GET /v1/threads/:thread/processes/${id}/logs` : "";
    throw new AppError(ErrorCode.EXECUTION_NOT_FOUND, `${id} is a history record, not an execution: it has no events${hint}`);
  }
}

/**
 * The execution history's records of what is not an execution: a background process (kind `process`) and a terminal
 * (kind `terminal`), made from their own records when the history is read. They have no events here (a process's
 * output is at `GET …/processes/:id/logs`), so `last_seq` is -1 and the tails are empty.
 */
const base = { stdout_tail: "", stderr_tail: "", last_seq: -1, events_truncated: false } as const;

const durationMs = (start: string, end: string | null) => (end === null ? null : Math.max(0, Date.parse(end) - Date.parse(start)));

export function processRecord(p: ProcessInfo): ExecutionRecord {
  return {
    ...base,
    id: p.id,
    kind: "process",
    status: p.status,
    summary: (p.name ? `${p.name}: ${p.command}` : p.command).slice(0, 200),
    exit_code: p.exit_code,
    // Why it ended when it did not exit by itself (stopped, lifetime, released, runtime_restart, …).
    error_code: p.reason,
    created_at: p.started_at,
    started_at: p.started_at,
    finished_at: p.ended_at,
    duration_ms: durationMs(p.started_at, p.ended_at),
  };
}

export function terminalRecord(t: TerminalRow): ExecutionRecord {
  return {
    ...base,
    id: t.id,
    kind: "terminal",
    status: t.status,
    summary: "terminal",
    exit_code: null,
    error_code: null,
    created_at: t.started_at,
    started_at: t.started_at,
    finished_at: t.ended_at,
    duration_ms: durationMs(t.started_at, t.ended_at),
  };
}

/** The newest `limit` of several newest-first lists, newest first (ties keep the executions first). */
export function mergeHistory(limit: number, ...lists: ExecutionRecord[][]): ExecutionRecord[] {
  return lists
    .flat()
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r.created_at < b.r.created_at ? 1 : a.r.created_at > b.r.created_at ? -1 : a.i - b.i))
    .slice(0, limit)
    .map(({ r }) => r);
}
