/** Hop-by-hop headers (RFC 9110 7.6.1) and the worker's own, never passed between the client and the sandbox. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"]);
const OURS = /^(x-threadbox-|cf-|x-request-id$)/;

/** The headers a proxied request carries to the sandbox's server: the client's, less hop-by-hop and ours. */
export function requestHead(headers: Headers, port: number): Record<string, string> {
  const out: Record<string, string> = { host: `127.0.0.1:${port}` };
  for (const [name, value] of headers) {
    if (!HOP_BY_HOP.has(name) && !OURS.test(name)) out[name] = value;
  }
  return out;
}

/** The raw head of an upgrade request (a WebSocket) as the sandbox's server gets it: upgrade headers kept. */
export function upgradeHead(method: string, target: string, rawHeaders: string[], port: number): string {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (lower === "host" || OURS.test(lower) || /[\r\n]/.test(rawHeaders[i + 1] as string)) continue;
    lines.push(`${name}: ${rawHeaders[i + 1]}`);
  }
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** The sandbox server's response headers for the client, less hop-by-hop ones. */
export function responseHeaders(rawHeaders: string[]): Headers {
  const out = new Headers();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(name) || name === "content-length") continue;
    try {
      out.append(name, rawHeaders[i + 1] as string);
    } catch {
      // A header value fetch's Headers refuses (bad bytes) is dropped, not a failed response.
    }
  }
  return out;
}
