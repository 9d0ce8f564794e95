/** One evictable piece of a tenant's package cache: removed whole, never in part (see unitOf). Directories are no unit of their own. */
export interface CacheUnit {
  /** Path segments below the tenant's cache directory. */
  segments: string[];
  bytes: number;
  /** Bytes on disk of its files, links and other non-directories, and their newest access or change (ms). */
  lastUsedMs: number;
}

/** pip's own caches: each leaf directory holds one entry (an HTTP response and its body, or one built wheel). */
const PIP_DIRS = new Set(["http", "http-v2", "wheels"]);

/**
 * The unit a cache file at `segments` belongs to. pip's entries are the file's directory (a response and its
 * `.body` go together); anything else (a Bun cache `bun-<uid>/<package>@<version>`, uv's `archive-v0/<id>`) is its
 * second-level entry, since removing part of an unpacked package would leave the installer a broken copy.
 */
export function unitOf(segments: readonly string[]): string[] {
  if (segments.length <= 1) return [...segments];
  if (PIP_DIRS.has(segments[0] as string) && segments.length > 2) return segments.slice(0, -1);
  return segments.slice(0, 2);
}

/**
 * The units to remove so the cache fits in `capBytes`: least recently used first, until what is left is at most the
 * cap. Ties go by path so a sweep is repeatable. Nothing when the cache already fits.
 */
export function chooseEvictions(units: readonly CacheUnit[], capBytes: number): CacheUnit[] {
  let total = units.reduce((sum, u) => sum + u.bytes, 0);
  if (total <= capBytes) return [];
  const byAge = [...units].sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.segments.join("/").localeCompare(b.segments.join("/")));
  const out: CacheUnit[] = [];
  for (const unit of byAge) {
    if (total <= capBytes) break;
    out.push(unit);
    total -= unit.bytes;
  }
  return out;
}
