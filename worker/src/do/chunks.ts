import type { RowLimitedSql } from "./row-limit.ts";

/**
 * Large texts (an execution's request, a big event) in pieces of at most CHUNK_CHARS UTF-16 units: at most 3 UTF-8
 * bytes each, so every row stays far under the 2 MB row limit whatever the text holds. A piece never ends between the
 * two halves of a surrogate pair (each half alone would be stored as U+FFFD). Keyed by execution and slot (an
 * event's seq; REQUEST_SLOT for the request), so an execution's pieces go with it.
 */
export const CHUNK_CHARS = 256 * 1024;
export const REQUEST_SLOT = -1;

export const CHUNKS_SCHEMA = `
CREATE TABLE IF NOT EXISTS chunks (
  execution_id TEXT NOT NULL, slot INTEGER NOT NULL, part INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (execution_id, slot, part)
);`;

/** Splits `text` into pieces of at most CHUNK_CHARS units, never inside a surrogate pair. */
export function splitText(text: string, max = CHUNK_CHARS): string[] {
  const parts: string[] = [];
  for (let at = 0; at < text.length; ) {
    let end = Math.min(at + max, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts.push(text.slice(at, end));
    at = end;
  }
  return parts;
}

export class ChunkStore {
  constructor(private readonly sql: RowLimitedSql) {}

  /** Replaces what the slot held; returns the number of pieces. */
  put(executionId: string, slot: number, text: string): number {
    this.delete(executionId, slot);
    const parts = splitText(text);
    parts.forEach((data, part) => {
      this.sql.exec("INSERT INTO chunks (execution_id, slot, part, data) VALUES (?, ?, ?, ?)", executionId, slot, part, data);
    });
    return parts.length;
  }

  /** The slot's text, or null when it holds nothing. */
  get(executionId: string, slot: number): string | null {
    const rows = this.sql
      .exec<{ data: string }>("SELECT data FROM chunks WHERE execution_id = ? AND slot = ? ORDER BY part", executionId, slot)
      .toArray();
    return rows.length === 0 ? null : rows.map((r) => r.data).join("");
  }

  delete(executionId: string, slot?: number): void {
    if (slot === undefined) this.sql.exec("DELETE FROM chunks WHERE execution_id = ?", executionId);
    else this.sql.exec("DELETE FROM chunks WHERE execution_id = ? AND slot = ?", executionId, slot);
  }
}
