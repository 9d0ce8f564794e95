import {
  type ExecutionEvent,
  type ExecutionKind,
  type ExecutionRecord,
  type ExecutionStatus,
  type ImportPolicy,
  type NetworkMode,
  type ThreadMount,
  type NetworkPolicyView,
  type ThreadRef,
  threadRef,
} from "../../../shared/src/index.ts";
import { CHUNKS_SCHEMA, CHUNK_CHARS, ChunkStore, REQUEST_SLOT } from "./chunks.ts";
import { EVENTS_SCHEMA, EventLog } from "./event-log.ts";
import { RowLimitedSql } from "./row-limit.ts";

export { MAX_EVENTS_PER_EXECUTION, MAX_EVENT_BYTES_PER_EXECUTION } from "./event-log.ts";
/** How many finished executions a thread keeps. */
export const MAX_EXECUTIONS_KEPT = 200;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS thread (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created_at TEXT NOT NULL, last_active_at TEXT NOT NULL, runtime_url TEXT NOT NULL,
  placed_at TEXT, network TEXT, incarnation TEXT, token_generation INTEGER NOT NULL DEFAULT 0, import_policy TEXT,
  mounts TEXT,
  egress_secrets TEXT
);
CREATE TABLE IF NOT EXISTS executions (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, summary TEXT NOT NULL, request TEXT NOT NULL,
  exit_code INTEGER, error_code TEXT, created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, duration_ms REAL,
  stdout_tail TEXT NOT NULL DEFAULT '', stderr_tail TEXT NOT NULL DEFAULT '', last_seq INTEGER NOT NULL DEFAULT -1,
  event_count INTEGER NOT NULL DEFAULT 0, event_bytes INTEGER NOT NULL DEFAULT 0, events_truncated INTEGER NOT NULL DEFAULT 0
);
${EVENTS_SCHEMA}
${CHUNKS_SCHEMA}`;

export interface ThreadRow {
  id: string;
  tenant: string;
  created_at: string;
  last_active_at: string;
  /** The runtime the thread is placed on (sticky; see do/placement.ts) and since when. */
  runtime_url: string;
  placed_at: string;
  /** Kept here, not only on the runtime: a thread moved to another runtime must keep `none` (see do/placement.ts). */
  /** A mode, or a network policy (JSON in the column) whose secrets are named only: their values are sealed below. */
  network: NetworkMode | NetworkPolicyView;
  /**
   * The policy's secrets, sealed (shared/src/egress-seal.ts: AES-GCM, key derived from HMAC_SECRET, the thread as
   * additional data), sent as they are with the thread's runtime calls; never opened here, never returned. null: none.
   */
  egress_secrets?: string | null;
  /** The import policy in force (the tenant's and the thread's own, combined at creation); null: none. */
  import_policy: ImportPolicy | null;
  /** The read-only mounts the thread sees (its own and its tenant's defaults, fixed at creation); [] for none. */
  mounts?: ThreadMount[];
  /**
   * Made at creation, never reused: a thread deleted and created again under the same id is another incarnation,
   * and tokens minted for the first one do not reach the second (auth/tokens.ts).
   */
  incarnation: string;
  /** Bumped to revoke every token of the thread minted before (POST /v1/threads/:thread/tokens/revoke). */
  token_generation: number;
}

type ExecutionRow = Omit<ExecutionRecord, "events_truncated" | "kind" | "status"> & {
  kind: string;
  status: string;
  request: string;
  event_count: number;
  event_bytes: number;
  events_truncated: number;
};

/** The thread a row describes. */
export const rowRef = (row: Pick<ThreadRow, "tenant" | "id">): ThreadRef => threadRef(row.tenant, row.id);

/** A fresh incarnation id: 128 random bits. */
export function newIncarnation(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/**
 * All SQL of a thread's Durable Object, written through RowLimitedSql (every value within the production row
 * limit, in every environment). `transact` makes a multi-statement write all-or-nothing (the object passes
 * `storage.transactionSync`).
 */
export class ThreadStore {
  private readonly sql: RowLimitedSql;
  private readonly chunks: ChunkStore;
  private readonly events: EventLog;

  constructor(
    sql: SqlStorage,
    private readonly transact: <T>(fn: () => T) => T = (fn) => fn(),
  ) {
    this.sql = new RowLimitedSql(sql);
    this.chunks = new ChunkStore(this.sql);
    this.events = new EventLog(this.sql, this.chunks);
    this.init();
  }

  /** Creates the tables; again after `storage.deleteAll()`, which drops them while this object lives on. */
  init(): void {
    this.sql.exec(SCHEMA);
    this.events.migrate();
    // Threads created before placement was tracked: their placement dates from their creation.
    const columns = this.sql.exec("SELECT name FROM pragma_table_info('thread')").toArray().map((r) => r.name);
    if (!columns.includes("placed_at")) this.sql.exec("ALTER TABLE thread ADD COLUMN placed_at TEXT");
    // Threads created before the network mode was kept here: NULL reads as "default", what they were created with
    // unless they asked for "none" (only their first runtime knows that; it still applies it there).
    if (!columns.includes("network")) this.sql.exec("ALTER TABLE thread ADD COLUMN network TEXT");
    // Threads created before incarnations: they get one now (tokens minted before then carried none anyway).
    if (!columns.includes("incarnation")) this.sql.exec("ALTER TABLE thread ADD COLUMN incarnation TEXT");
    // Threads created before import policies: none.
    if (!columns.includes("import_policy")) this.sql.exec("ALTER TABLE thread ADD COLUMN import_policy TEXT");
    // Threads created before mounts: none.
    if (!columns.includes("mounts")) this.sql.exec("ALTER TABLE thread ADD COLUMN mounts TEXT");
    // Threads created before egress policies: none.
    if (!columns.includes("egress_secrets")) this.sql.exec("ALTER TABLE thread ADD COLUMN egress_secrets TEXT");
    if (!columns.includes("token_generation")) {
      this.sql.exec("ALTER TABLE thread ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0");
    }
    this.sql.exec("UPDATE thread SET incarnation = ? WHERE incarnation IS NULL", newIncarnation());
  }

  thread(): ThreadRow | null {
    const row = this.sql
      .exec(
        "SELECT id, tenant, created_at, last_active_at, runtime_url, coalesce(placed_at, created_at) AS placed_at, " +
          "coalesce(network, 'default') AS network, incarnation, token_generation, import_policy, mounts, egress_secrets FROM thread LIMIT 1",
      )
      .toArray()[0] as (Omit<ThreadRow, "import_policy" | "network" | "mounts"> & { import_policy: string | null; network: string; mounts: string | null }) | undefined;
    if (!row) return null;
    // Written by createThread from validated settings, so they parse.
    const network = row.network.startsWith("{") ? (JSON.parse(row.network) as NetworkPolicyView) : (row.network as NetworkMode);
    const import_policy = row.import_policy === null ? null : (JSON.parse(row.import_policy) as ImportPolicy);
    return { ...row, network, import_policy, mounts: row.mounts === null ? [] : (JSON.parse(row.mounts) as ThreadMount[]) };
  }

  createThread(row: ThreadRow): void {
    this.sql.exec(
      "INSERT INTO thread (id, tenant, created_at, last_active_at, runtime_url, placed_at, network, incarnation, token_generation, import_policy, mounts, egress_secrets) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      row.id, row.tenant, row.created_at, row.last_active_at, row.runtime_url, row.placed_at,
      typeof row.network === "object" ? JSON.stringify(row.network) : row.network, row.incarnation,
      row.token_generation, row.import_policy === null ? null : JSON.stringify(row.import_policy),
      row.mounts?.length ? JSON.stringify(row.mounts) : null, row.egress_secrets ?? null,
    );
  }

  /** Revokes every token minted for the thread so far; returns the new generation. */
  revokeTokens(): number {
    this.sql.exec("UPDATE thread SET token_generation = token_generation + 1");
    return this.thread()?.token_generation ?? 0;
  }

  /** Moves the thread to another runtime. */
  setRuntime(url: string, at: string): void {
    this.sql.exec("UPDATE thread SET runtime_url = ?, placed_at = ? WHERE runtime_url <> ?", url, at, url);
  }

  touch(now: string): void {
    this.sql.exec("UPDATE thread SET last_active_at = ?", now);
  }

  /** Queues an execution; its request (up to the body cap, 32 MiB) in its row when small, else in pieces. */
  insertExecution(e: { id: string; kind: ExecutionKind; summary: string; request: string; created_at: string }): void {
    this.transact(() => {
      const inline = e.request.length <= CHUNK_CHARS;
      this.sql.exec(
        "INSERT INTO executions (id, kind, status, summary, request, created_at) VALUES (?, ?, 'queued', ?, ?, ?)",
        e.id, e.kind, e.summary, inline ? e.request : "", e.created_at,
      );
      if (!inline) this.chunks.put(e.id, REQUEST_SLOT, e.request);
    });
  }

  request(id: string): string | null {
    const row = this.sql.exec<{ request: string }>("SELECT request FROM executions WHERE id = ?", id).toArray()[0];
    if (!row) return null;
    return row.request !== "" ? row.request : this.chunks.get(id, REQUEST_SLOT);
  }

  setStarted(id: string, at: string): void {
    this.sql.exec("UPDATE executions SET status = 'running', started_at = ? WHERE id = ?", at, id);
  }

  finish(id: string, f: { status: ExecutionStatus; exit_code: number | null; error_code: string | null; at: string }): void {
    this.chunks.delete(id, REQUEST_SLOT);
    this.sql.exec(
      `UPDATE executions SET status = ?, exit_code = ?, error_code = ?, finished_at = ?,
         duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE (julianday(?) - julianday(started_at)) * 86400000 END,
         request = '' WHERE id = ?`,
      f.status, f.exit_code, f.error_code, f.at, f.at, id,
    );
    this.prune();
  }

  /** Stores an event (see EventLog) and, for the terminal one, the outcome, together. */
  appendEvent(event: ExecutionEvent, terminal: boolean, outcome?: Parameters<ThreadStore["finish"]>[1]): void {
    this.transact(() => {
      this.events.append(event, terminal);
      if (outcome) this.finish(event.execution_id, outcome);
    });
  }

  /** An event that could not be stored: the log says events are missing. */
  markTruncated(id: string, seq: number): void {
    this.events.truncated(id, seq);
  }

  eventsAfter(id: string, after: number): ExecutionEvent[] {
    return this.events.after(id, after);
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
      this.events.delete(r.id as string);
      this.chunks.delete(r.id as string);
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
