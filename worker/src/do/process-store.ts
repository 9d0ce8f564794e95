import type { ProcessInfo, ProcessReason, ProcessStatus } from "../../../shared/src/index.ts";
import { RowLimitedSql } from "./row-limit.ts";

/** How many ended processes a thread keeps in its history. */
export const MAX_PROCESSES_KEPT = 200;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS processes (
  id TEXT PRIMARY KEY, name TEXT, command TEXT NOT NULL, status TEXT NOT NULL, exit_code INTEGER, reason TEXT,
  started_at TEXT NOT NULL, ended_at TEXT, last_seq INTEGER NOT NULL DEFAULT -1
);`;

type Row = Omit<ProcessInfo, "status" | "reason"> & { status: string; reason: string | null };

/**
 * A thread's background processes as its object knows them: the history of their starts and ends (the runtime only
 * holds the live ones, and forgets them when it restarts). A running row is refreshed from the runtime.
 */
export class ProcessStore {
  private readonly sql: RowLimitedSql;

  constructor(sql: SqlStorage) {
    this.sql = new RowLimitedSql(sql);
    this.init();
  }

  /** Creates the table; again after `storage.deleteAll()`. */
  init(): void {
    this.sql.exec(SCHEMA);
  }

  /** Records what the runtime said of a process (its start, or its state now). */
  put(p: ProcessInfo): void {
    this.sql.exec(
      `INSERT INTO processes (id, name, command, status, exit_code, reason, started_at, ended_at, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, exit_code = excluded.exit_code, reason = excluded.reason,
         ended_at = excluded.ended_at, last_seq = excluded.last_seq`,
      p.id, p.name, p.command, p.status, p.exit_code, p.reason, p.started_at, p.ended_at, p.last_seq,
    );
    if (p.status !== "running") this.prune();
  }

  /** A running process its runtime no longer knows: it restarted (or the thread moved), so the process is gone. */
  lose(id: string, at: string): void {
    this.sql.exec("UPDATE processes SET status = 'lost', reason = 'runtime_restart', ended_at = ? WHERE id = ? AND status = 'running'", at, id);
    this.prune();
  }

  get(id: string): ProcessInfo | null {
    const row = this.sql.exec<Row>("SELECT * FROM processes WHERE id = ?", id).toArray()[0];
    return row ? toInfo(row) : null;
  }

  list(limit = MAX_PROCESSES_KEPT): ProcessInfo[] {
    return this.sql.exec<Row>("SELECT * FROM processes ORDER BY started_at DESC, rowid DESC LIMIT ?", limit).toArray().map(toInfo);
  }

  running(): ProcessInfo[] {
    return this.sql.exec<Row>("SELECT * FROM processes WHERE status = 'running' ORDER BY started_at").toArray().map(toInfo);
  }

  private prune(): void {
    this.sql.exec(
      `DELETE FROM processes WHERE id IN (SELECT id FROM processes WHERE status <> 'running'
         ORDER BY started_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
      MAX_PROCESSES_KEPT,
    );
  }
}

function toInfo(r: Row): ProcessInfo {
  return {
    id: r.id, name: r.name ?? null, command: r.command, status: r.status as ProcessStatus, exit_code: r.exit_code ?? null,
    reason: (r.reason ?? null) as ProcessReason | null, started_at: r.started_at, ended_at: r.ended_at ?? null, last_seq: r.last_seq,
  };
}
