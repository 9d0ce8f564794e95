import { AppError, ErrorCode } from "../../../shared/src/index.ts";

/**
 * Cloudflare caps one string, BLOB or row of a Durable Object's SQLite at 2 MB; workerd's local SQLite allows more,
 * so a value that only production refuses would pass every local test. The store writes through this wrapper, which
 * refuses (throws) what production would, in every environment: tests run against the production limit.
 */
export const PRODUCTION_ROW_BYTES = 2_000_000;

/** UTF-8 bytes of a JS string (a surrogate pair's two halves count 2 each: 4 for the code point). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
  }
  return bytes;
}

function size(value: unknown): number {
  if (typeof value === "string") return utf8Bytes(value);
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value.byteLength;
  return 8;
}

/** SqlStorage's `exec`, refusing a statement whose bound values together exceed the production row limit. */
export class RowLimitedSql {
  constructor(
    private readonly sql: SqlStorage,
    private readonly limit = PRODUCTION_ROW_BYTES,
  ) {}

  exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> {
    let total = 0;
    for (const value of bindings) total += size(value);
    if (total > this.limit) {
      throw new AppError(
        ErrorCode.INTERNAL_ERROR,
        `storage bug: a ${total}-byte row for "${query.slice(0, 60)}" is over the ${this.limit}-byte Durable Object row limit`,
      );
    }
    return this.sql.exec<T>(query, ...bindings);
  }
}
