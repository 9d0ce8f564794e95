import { AppError, ErrorCode, MAX_EXPOSED_PORTS } from "../../../shared/src/index.ts";

const SCHEMA = `CREATE TABLE IF NOT EXISTS ports (port INTEGER PRIMARY KEY, nonce TEXT NOT NULL, expires_at INTEGER NOT NULL)`;

export interface PortGrant {
  port: number;
  nonce: string;
  /** Unix seconds. */
  expires_at: number;
}

const randomNonce = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * A thread's exposed ports (preview URLs): one grant per port, with the nonce its URLs carry. Exposing a port again
 * keeps the nonce (URLs handed out stay valid) and extends the grant; revoking forgets it, so every URL of that port
 * stops working at once. Expired grants are dropped as they are met. The table is made lazily: the object's
 * deleteAll (thread deletion) drops it with everything else.
 */
export class PortGrants {
  constructor(private readonly sql: SqlStorage) {}

  private init(): void {
    this.sql.exec(SCHEMA);
  }

  active(nowS: number): PortGrant[] {
    this.init();
    this.sql.exec("DELETE FROM ports WHERE expires_at <= ?", nowS);
    return this.sql.exec<Record<string, number | string>>("SELECT port, nonce, expires_at FROM ports ORDER BY port").toArray() as unknown as PortGrant[];
  }

  expose(port: number, expiresAt: number, nowS: number): PortGrant {
    const current = this.active(nowS);
    const existing = current.find((g) => g.port === port);
    if (!existing && current.length >= MAX_EXPOSED_PORTS) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, `a thread may expose at most ${MAX_EXPOSED_PORTS} ports at once; revoke one first`);
    }
    const grant = { port, nonce: existing?.nonce ?? randomNonce(), expires_at: Math.max(expiresAt, existing?.expires_at ?? 0) };
    this.sql.exec("INSERT OR REPLACE INTO ports (port, nonce, expires_at) VALUES (?, ?, ?)", grant.port, grant.nonce, grant.expires_at);
    return grant;
  }

  revoke(port: number): boolean {
    this.init();
    return this.sql.exec("DELETE FROM ports WHERE port = ?", port).rowsWritten > 0;
  }

  /** Whether a URL's nonce is the port's active grant. */
  allows(port: number, nonce: string, nowS: number): boolean {
    return this.active(nowS).some((g) => g.port === port && g.nonce === nonce);
  }
}
