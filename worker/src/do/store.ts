import type { ExecutionEvent, ExecutionKind, ExecutionRecord, ExecutionStatus, NetworkMode } from "../../../shared/src/index.ts";

/** Bounds on what one thread keeps: the log of one execution, and how many finished executions are kept. */
export const MAX_EVENTS_PER_EXECUTION = 5_000;
export const MAX_EVENT_BYTES_PER_EXECUTION = 4 * 2 ** 20;
export const MAX_EXECUTIONS_KEPT = 200;
const TAIL_CHARS = 4_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS thread (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created_at TEXT NOT NULL, last_active_at TEXT NOT NULL, runtime_url TEXT NOT NULL,
  placed_at TEXT, network TEXT
);
CREATE TABLE IF NOT EXISTS executions (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, summary TEXT NOT NULL, request TEXT NOT NULL,
  exit_code INTEGER, error_code TEXT, created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, duration_ms REAL,
  stdout_tail TEXT NOT NULL DEFAULT '', stderr_tail TEXT NOT NULL DEFAULT '', last_seq INTEGER NOT NULL DEFAULT -1,
  event_count INTEGER NOT NULL DEFAULT 0, event_bytes INTEGER NOT NULL DEFAULT 0, events_truncated INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
  execution_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (execution_id, seq)
);`;

export interface ThreadRow {
  id: string;
  tenant: string;
  created_at: string;
  last_active_at: string;
  /** The runtime the thread is placed on (sticky; see do/placement.ts) and since when. */
  runtime_url: string;
  placed_at: string;
  /** Kept here, not only on the runtime: a thread moved to another runtime must keep `none` (see do/placement.ts). */
  network: NetworkMode;
}

type ExecutionRow = Omit<ExecutionRecord, "events_truncated" | "kind" | "status"> & {
  kind: string;
  status: string;
  request: string;
  event_count: number;
  event_bytes: number;
  events_truncated: number;
};

/** All SQL of a thread's Durable Object. */
export class ThreadStore {
  constructor(private readonly sql: SqlStorage) {
    this.init();
  }

  /** Creates the tables; again after `storage.deleteAll()`, which drops them while this object lives on. */
  init(): void {
    this.sql.exec(SCHEMA);
    // Threads created before placement was tracked: their placement dates from their creation.
    const columns = this.sql.exec("SELECT name FROM pragma_table_info('thread')").toArray().map((r) => r.name);
    if (!columns.includes("placed_at")) this.sql.exec("ALTER TABLE thread ADD COLUMN placed_at TEXT");
    // Threads created before the network mode was kept here: NULL reads as "default", what they were created with
    // unless they asked for "none" (only their first runtime knows that; it still applies it there).
    if (!columns.includes("network")) this.sql.exec("ALTER TABLE thread ADD COLUMN network TEXT");
  }

  thread(): ThreadRow | null {
    const row = this.sql
      .exec(
        "SELECT id, tenant, created_at, last_active_at, runtime_url, coalesce(placed_at, created_at) AS placed_at, " +
          "coalesce(network, 'default') AS network FROM thread LIMIT 1",
      )
      .toArray()[0];
    return (row as ThreadRow | undefined) ?? null;
  }

  createThread(row: ThreadRow): void {
    this.sql.exec(
      "INSERT INTO thread (id, tenant, created_at, last_active_at, runtime_url, placed_at, network) VALUES (?, ?, ?, ?, ?, ?, ?)",
      row.id, row.tenant, row.created_at, row.last_active_at, row.runtime_url, row.placed_at, row.network,
    );
  }

  /** Moves the thread to another runtime. */
  setRuntime(url: string, at: string): void {
    this.sql.exec("UPDATE thread SET runtime_url = ?, placed_at = ? WHERE runtime_url <> ?", url, at, url);
  }

  touch(now: string): void {
    this.sql.exec("UPDATE thread SET last_active_at = ?", now);
  }

  insertExecution(e: { id: string; kind: ExecutionKind; summary: string; request: string; created_at: string }): void {
    this.sql.exec(
      "INSERT INTO executions (id, kind, status, summary, request, created_at) VALUES (?, ?, 'queued', ?, ?, ?)",
      e.id, e.kind, e.summary, e.request, e.created_at,
    );
  }

  request(id: string): string | null {
    const row = this.sql.exec("SELECT request FROM executions WHERE id = ?", id).toArray()[0];
    return (row?.request as string | undefined) ?? null;
  }

  setStarted(id: string, at: string): void {
    this.sql.exec("UPDATE executions SET status = 'running', started_at = ? WHERE id = ?", at, id);
  }

  finish(id: string, f: { status: ExecutionStatus; exit_code: number | null; error_code: string | null; at: string }): void {
    this.sql.exec(
      `UPDATE executions SET status = ?, exit_code = ?, error_code = ?, finished_at = ?,
         duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE (julianday(?) - julianday(started_at)) * 86400000 END,
         request = '' WHERE id = ?`,
      f.status, f.exit_code, f.error_code, f.at, f.at, id,
    );
    this.prune();
  }

  /** Stores an event within the bounds (the terminal event always) and keeps the output tails. */
  appendEvent(event: ExecutionEvent, terminal: boolean): void {
    const data = JSON.stringify(event);
    const row = this.sql.exec("SELECT event_count, event_bytes FROM executions WHERE id = ?", event.execution_id).toArray()[0];
    const count = Number(row?.event_count ?? 0);
    const bytes = Number(row?.event_bytes ?? 0);
    const fits = count < MAX_EVENTS_PER_EXECUTION && bytes + data.length <= MAX_EVENT_BYTES_PER_EXECUTION;
    if (fits || terminal) {
      this.sql.exec("INSERT OR REPLACE INTO events (execution_id, seq, data) VALUES (?, ?, ?)", event.execution_id, event.seq, data);
      this.sql.exec(
        "UPDATE executions SET event_count = event_count + 1, event_bytes = event_bytes + ?, last_seq = ? WHERE id = ?",
        data.length, event.seq, event.execution_id,
      );
    } else {
      this.sql.exec("UPDATE executions SET events_truncated = 1, last_seq = ? WHERE id = ?", event.seq, event.execution_id);
    }
    if (event.type === "stdout" || event.type === "stderr") {
      const column = event.type === "stdout" ? "stdout_tail" : "stderr_tail";
      this.sql.exec(`UPDATE executions SET ${column} = substr(${column} || ?, -${TAIL_CHARS}) WHERE id = ?`, event.data, event.execution_id);
    }
  }

  eventsAfter(id: string, after: number): ExecutionEvent[] {
    return this.sql
      .exec("SELECT data FROM events WHERE execution_id = ? AND seq > ? ORDER BY seq", id, after)
      .toArray()
      .map((r) => JSON.parse(r.data as string) as ExecutionEvent);
  }

  execution(id: string): ExecutionRecord | null {
    const row = this.sql.exec("SELECT * FROM executions WHERE id = ?", id).toArray()[0] as ExecutionRow | undefined;
    return row ? toRecord(row) : null;
  }

  list(limit: number): ExecutionRecord[] {
    return (this.sql.exec("SELECT * FROM executions ORDER BY created_at DESC, rowid DESC LIMIT ?", limit).toArray() as ExecutionRow[]).map(toRecord);
  }

  withStatus(...statuses: ExecutionStatus[]): string[] {
    const marks = statuses.map(() => "?").join(",");
    return this.sql
      .exec(`SELECT id FROM executions WHERE status IN (${marks}) ORDER BY created_at, rowid`, ...statuses)
      .toArray()
      .map((r) => r.id as string);
  }

  counts(): { executions: number; running: number; queued: number } {
    const r = this.sql
      .exec(
        "SELECT COUNT(*) AS n, SUM(status = 'running') AS running, SUM(status = 'queued') AS queued FROM executions",
      )
      .toArray()[0];
    return { executions: Number(r?.n ?? 0), running: Number(r?.running ?? 0), queued: Number(r?.queued ?? 0) };
  }

  /** Keeps the newest MAX_EXECUTIONS_KEPT executions; older finished ones go with their events. */
  private prune(): void {
    const old = this.sql
      .exec(
        `SELECT id FROM executions WHERE status NOT IN ('queued', 'running')
         ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?`,
        MAX_EXECUTIONS_KEPT,
      )
      .toArray();
    for (const r of old) {
      this.sql.exec("DELETE FROM events WHERE execution_id = ?", r.id as string);
      this.sql.exec("DELETE FROM executions WHERE id = ?", r.id as string);
    }
  }
}

function toRecord(row: ExecutionRow): ExecutionRecord {
  return {
    id: row.id,
    kind: row.kind as ExecutionKind,
    status: row.status as ExecutionStatus,
    summary: row.summary,
    exit_code: row.exit_code ?? null,
    error_code: row.error_code ?? null,
    created_at: row.created_at,
    started_at: row.started_at ?? null,
    finished_at: row.finished_at ?? null,
    duration_ms: row.duration_ms === null || row.duration_ms === undefined ? null : Math.round(row.duration_ms),
    stdout_tail: row.stdout_tail,
    stderr_tail: row.stderr_tail,
    last_seq: row.last_seq,
    events_truncated: row.events_truncated === 1,
  };
}
