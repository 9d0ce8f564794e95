/**
 * Rendezvous (highest random weight) hashing: each thread goes to the runtime with the highest score for it, so
 * adding or removing a runtime moves only the threads that must move.
 */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function runtimeUrls(raw: string): string[] {
  return raw
    .split(",")
    .map((u) => u.trim().replace(/\/+$/, ""))
    .filter((u) => u !== "");
}

export function placeThread(urls: string[], key: string): string {
  let best = "";
  let bestScore = -1;
  for (const url of urls) {
    const score = fnv1a(`${url}#${key}`);
    if (score > bestScore) [best, bestScore] = [url, score];
  }
  if (!best) throw new Error("RUNTIME_URL names no runtime");
  return best;
}
