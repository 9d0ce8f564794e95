import path from "node:path";
import { z } from "zod";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { Owner } from "../files/safe-open.ts";
import type { IdSlot } from "./id-slot.ts";
import { readJsonState, writeJsonState } from "./json-state.ts";

const StoredSchema = z.object({
  threads: z.record(z.string(), z.number().int().nonnegative()),
  tenants: z.record(z.string(), z.number().int().nonnegative()),
});
type Stored = z.infer<typeof StoredSchema>;

/**
 * Who a thread's programs run as: a uid of its own and its tenant's gid, both from this runtime's id slot.
 * Allocations are recorded in STATE_DIR and never reused (a deleted thread's number stays taken), so a uid can never
 * pass from one thread to another, even across restarts. A hash of the thread id could collide; a counter cannot.
 * The gid lets a tenant's threads share its package cache (group-writable) while other tenants cannot read it.
 */
export class Identities {
  private readonly state: Stored;
  private readonly file: string;

  constructor(
    stateDir: string,
    private readonly slot: IdSlot,
  ) {
    this.file = path.join(stateDir, "sandbox-ids.json");
    this.state = readJsonState(this.file, StoredSchema, { threads: {}, tenants: {} });
  }

  /** The first and last uid (and gid) this runtime hands out. */
  get range(): { first: number; last: number } {
    return { first: this.slot.first, last: this.slot.first + this.slot.size - 1 };
  }

  ownerOf(tenant: string, thread: string): NonNullable<Owner> {
    return { uid: this.slot.first + this.index("threads", `${tenant}/${thread}`), gid: this.slot.first + this.index("tenants", tenant) };
  }

  /** The uid of a thread that has one already (`tenant/thread`); null otherwise (nothing is allocated). */
  uidOf(key: string): number | null {
    const known = this.state.threads[key];
    return known === undefined ? null : this.slot.first + known;
  }

  private index(kind: keyof Stored, key: string): number {
    const known = this.state[kind][key];
    if (known !== undefined) return known;
    const next = Object.keys(this.state[kind]).length;
    if (next >= this.slot.size) {
      throw new AppError(ErrorCode.INTERNAL_ERROR, `this runtime has handed out all ${this.slot.size} sandbox ids (SANDBOX_ID_RANGE)`);
    }
    this.state[kind][key] = next;
    writeJsonState(this.file, this.state);
    return next;
  }
}
