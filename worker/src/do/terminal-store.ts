import { RowLimitedSql } from "./row-limit.ts";

/** How many closed terminals a thread keeps in its history. */
export const MAX_TERMINALS_KEPT = 200;

/** `lost`: it ended without the runtime saying when (it restarted, or the thread moved). */
export type TerminalStatus = "running" | "closed" | "lost";

export type TerminalRow = {
  id: string;
  status: TerminalStatus;
  started_at: string;
  ended_at: string | null;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS terminals (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT
);`;

/**
 * A thread's terminals as its object knows them: opened when the worker's upgrade succeeds (routes/terminal.ts),
 * ended as the runtime reports (do/thread-terminals.ts); history only, never an execution.
 */
export class TerminalStore {
  private readonly sql: RowLimitedSql;

  constructor(sql: SqlStorage) {
    this.sql = new RowLimitedSql(sql);
    this.init();
  }

  /** Creates the table; again after `storage.deleteAll()`. */
  init(): void {
    this.sql.exec(SCHEMA);
  }

  open(id: string, at: string): void {
    this.sql.exec("INSERT INTO terminals (id, status, started_at) VALUES (?, 'running', ?)", id, at);
  }

  /** Ends a running terminal; false when it is not one (unknown, or already ended). */
  end(id: string, status: Exclude<TerminalStatus, "running">, at: string): boolean {
    const changed = this.sql
      .exec("UPDATE terminals SET status = ?, ended_at = ? WHERE id = ? AND status = 'running' RETURNING id", status, at, id)
      .toArray().length;
    this.prune();
    return changed > 0;
  }

  get(id: string): TerminalRow | null {
    return this.sql.exec<TerminalRow>("SELECT id, status, started_at, ended_at FROM terminals WHERE id = ?", id).toArray()[0] ?? null;
  }

  list(limit = MAX_TERMINALS_KEPT): TerminalRow[] {
    return this.sql
      .exec<TerminalRow>("SELECT id, status, started_at, ended_at FROM terminals ORDER BY started_at DESC, rowid DESC LIMIT ?", limit)
      .toArray();
  }

  running(): TerminalRow[] {
    return this.sql.exec<TerminalRow>("SELECT id, status, started_at, ended_at FROM terminals WHERE status = 'running' ORDER BY started_at").toArray();
  }

  private prune(): void {
    this.sql.exec(
      `DELETE FROM terminals WHERE id IN (SELECT id FROM terminals WHERE status <> 'running'
         ORDER BY started_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
      MAX_TERMINALS_KEPT,
    );
  }
}
