import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Runtimes sharing a kernel must never share a sandbox uid: the uid sweep of one would kill the other's runs,
 * and their threads could signal each other. Each runtime claims a slot of SANDBOX_ID_RANGE ids in a host-wide
 * directory. A claim is a file `slot-N.<pid>-<start time>`; it is live while that process lives (the start time
 * tells a reused pid apart). Claiming: create ours, then list the slot; if any *other* live claim is there, ours is
 * removed and the next slot is tried. Two runtimes racing for one slot can both back off, but can never both keep it
 * (each lists after creating, so the later lister sees the earlier claim).
 */
export interface IdSlot {
  slot: number;
  /** First uid/gid of the slot (base + slot * range). */
  first: number;
  size: number;
  release(): void;
}

function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (start time); fields are counted after the command name, which may contain spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function isLive(owner: string): boolean {
  const m = /^(\d+)-(\d+)$/.exec(owner);
  return m !== null && startTime(Number(m[1])) === m[2];
}

export function claimIdSlot(dir: string, base: number, size: number): IdSlot {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const me = `${process.pid}-${startTime(process.pid) ?? "0"}`;
  const slots = Math.floor((2 ** 31 - 1 - base) / size);
  for (let slot = 0; slot < slots; slot++) {
    const prefix = `slot-${slot}.`;
    const mine = path.join(dir, `${prefix}${me}`);
    const others = () => readdirSync(dir).filter((n) => n.startsWith(prefix) && n !== `${prefix}${me}`);
    if (others().some((n) => isLive(n.slice(prefix.length)))) continue;
    writeFileSync(mine, `${new Date().toISOString()}\n`, { flag: "w", mode: 0o600 });
    let taken = false;
    for (const name of others()) {
      if (isLive(name.slice(prefix.length))) taken = true;
      else unlinkQuietly(path.join(dir, name));
    }
    if (taken) {
      unlinkQuietly(mine);
      continue;
    }
    return { slot, first: base + slot * size, size, release: () => unlinkQuietly(mine) };
  }
  throw new Error(`no free sandbox id slot in ${dir} (SANDBOX_UID_BASE/SANDBOX_ID_RANGE leave ${slots})`);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Gone already: another runtime cleaned a stale claim, or we never wrote it.
  }
}
