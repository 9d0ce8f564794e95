/**
 * Rendezvous (highest random weight) hashing: each thread ranks the runtimes by a score of (runtime, thread) and goes
 * to the best one it can use, so adding or removing a runtime moves only the threads that must move.
 */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Mixes the bits of a 32-bit hash (murmur3's finalizer): FNV alone scores URLs that differ in one digit alike. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Every runtime, best first for this thread key (ties, which need equal hashes, keep the configured order). */
export function rankRuntimes(urls: readonly string[], key: string): string[] {
  const scored = urls.map((url, i) => ({ url, i, score: mix(fnv1a(`${url}#${key}`)) }));
  return scored.sort((a, b) => b.score - a.score || a.i - b.i).map((s) => s.url);
}

export function placeThread(urls: readonly string[], key: string): string {
  const best = rankRuntimes(urls, key)[0];
  if (best === undefined) throw new Error("RUNTIME_URL names no runtime");
  return best;
}
