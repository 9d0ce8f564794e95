import type { ExecutionEvent } from "../../../shared/src/index.ts";
import type { ChunkStore } from "./chunks.ts";
import { CHUNK_CHARS } from "./chunks.ts";
import type { RowLimitedSql } from "./row-limit.ts";

/** Bounds on the log of one execution (the terminal event is always kept, whatever its size). */
export const MAX_EVENTS_PER_EXECUTION = 5_000;
export const MAX_EVENT_BYTES_PER_EXECUTION = 4 * 2 ** 20;
const TAIL_CHARS = 4_000;

export const EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  execution_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (execution_id, seq)
);`;

/**
 * An execution's stored events. An event's JSON is kept in its row when it is small, and in pieces (chunks.ts) when
 * it is not: a result with megabytes of output (control characters grow six-fold when JSON-escaped) or of
 * screenshots is one event, and must be stored whole, as the runtime sent it.
 */
export class EventLog {
  constructor(
    private readonly sql: RowLimitedSql,
    private readonly chunks: ChunkStore,
  ) {}

  /** Adds the `chunked` column to a log stored before events could be split. */
  migrate(): void {
    const columns = this.sql.exec("SELECT name FROM pragma_table_info('events')").toArray().map((r) => r.name);
    if (!columns.includes("chunked")) this.sql.exec("ALTER TABLE events ADD COLUMN chunked INTEGER NOT NULL DEFAULT 0");
  }

  /** Stores an event within the bounds (the terminal event always) and keeps the output tails. */
  append(event: ExecutionEvent, terminal: boolean): void {
    const id = event.execution_id;
    const data = JSON.stringify(event);
    const row = this.sql.exec("SELECT event_count, event_bytes FROM executions WHERE id = ?", id).toArray()[0];
    const count = Number(row?.event_count ?? 0);
    const bytes = Number(row?.event_bytes ?? 0);
    const fits = count < MAX_EVENTS_PER_EXECUTION && bytes + data.length <= MAX_EVENT_BYTES_PER_EXECUTION;
    if (fits || terminal) {
      this.put(id, event.seq, data);
      this.sql.exec(
        "UPDATE executions SET event_count = event_count + 1, event_bytes = event_bytes + ?, last_seq = ? WHERE id = ?",
        data.length, event.seq, id,
      );
    } else {
      this.truncated(id, event.seq);
    }
    if (event.type === "stdout" || event.type === "stderr") {
      const column = event.type === "stdout" ? "stdout_tail" : "stderr_tail";
      // Only the end of a big chunk can reach the tail: bind no more than that.
      this.sql.exec(`UPDATE executions SET ${column} = substr(${column} || ?, -${TAIL_CHARS}) WHERE id = ?`, event.data.slice(-TAIL_CHARS), id);
    }
  }

  /** An event that is not kept: the log says events are missing, and up to where the execution got. */
  truncated(id: string, seq: number): void {
    this.sql.exec("UPDATE executions SET events_truncated = 1, last_seq = max(last_seq, ?) WHERE id = ?", seq, id);
  }

  after(id: string, after: number): ExecutionEvent[] {
    return this.sql
      .exec<{ seq: number; data: string; chunked: number }>(
        "SELECT seq, data, chunked FROM events WHERE execution_id = ? AND seq > ? ORDER BY seq",
        id, after,
      )
      .toArray()
      .flatMap((r) => {
        // Pieces are written with their row in one transaction; a row without them would be a bug: skip, not crash.
        const data = r.chunked ? this.chunks.get(id, r.seq) : r.data;
        return data === null ? [] : [JSON.parse(data) as ExecutionEvent];
      });
  }

  delete(id: string): void {
    this.sql.exec("DELETE FROM events WHERE execution_id = ?", id);
  }

  private put(id: string, seq: number, data: string): void {
    if (data.length <= CHUNK_CHARS) {
      this.sql.exec("INSERT OR REPLACE INTO events (execution_id, seq, data, chunked) VALUES (?, ?, ?, 0)", id, seq, data);
      // A replaced event (the stand-in for a result that could not be stored) leaves no pieces behind.
      this.chunks.delete(id, seq);
    } else {
      this.chunks.put(id, seq, data);
      this.sql.exec("INSERT OR REPLACE INTO events (execution_id, seq, data, chunked) VALUES (?, ?, '', 1)", id, seq);
    }
  }
}
