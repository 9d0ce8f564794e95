/**
 * The one encoder of worker→runtime request targets. The signer and the sender must agree byte for byte on the path
 * and query, and `fetch` sends a URL as WHATWG URL parsing spells it (it percent-encodes `'` in a query, a space in a
 * path, ...), so the target is put through that parser once and the result is both what is signed and what is sent.
 * The runtime verifies the target as it parsed it on arrival, with the same parser, so the two sides agree for any
 * character.
 */
const BASE = "http://runtime.invalid";

/** `path?query` exactly as a request for `path` goes on the wire (no fragment: fetch never sends one). */
export function requestTarget(path: string): string {
  // Origin-relative only: "//host/x" or "http://x" would name another host, which no runtime path does.
  if (!path.startsWith("/") || path.startsWith("//")) throw new Error(`a runtime request path must start with one "/": ${JSON.stringify(path)}`);
  const url = new URL(path, BASE);
  return url.pathname + url.search;
}

/** The URL to fetch for `target` (from requestTarget) at `origin` (`http(s)://host[:port]`, no path). */
export function targetUrl(origin: string, target: string): URL {
  const url = new URL(target, origin);
  // An origin with a path (dropped here, or prefixed by a proxy) or a target that does not round-trip would send
  // something other than what was signed.
  if (new URL(origin).pathname !== "/" || url.pathname + url.search !== target) {
    throw new Error(`${origin} ${target} would not be sent as signed (a runtime URL is scheme://host:port only)`);
  }
  return url;
}
