import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import type { EgressSecret, NetworkPolicyView } from "../../../../shared/src/index.ts";
import { normalHost } from "./egress-match.ts";
import { type HostMap, type Target, resolveTarget } from "./egress-target.ts";

/** The thread's policy and secrets, read at each request (a changed policy applies at once). */
export interface EgressSource {
  policy(): NetworkPolicyView | null;
  secrets(): readonly EgressSecret[];
}

export interface ProxyOptions {
  hosts: HostMap;
  /** Extra CAs trusted for upstream TLS (EGRESS_CA_FILE), besides the system's. */
  ca?: string[];
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

export interface EgressProxy {
  readonly port: number;
  close(): void;
}

/** Bounds against a sandbox holding the proxy's resources (slowloris, header floods, tunnels left open). */
const LIMITS = { headerBytes: 16 * 1024, headersMs: 10_000, idleMs: 300_000, connections: 256 };
const HOP = /^(connection|keep-alive|proxy-.*|te|trailer|transfer-encoding|upgrade|host)$/i;

function refusal(host: string, reason: string, status: number): string {
  return `threadbox egress proxy: ${status === 403 ? "refused" : "failed"}: ${reason}\n`;
}

function sendRefusal(res: ServerResponse, t: Extract<Target, { ok: false }> | { host: string; reason: string; status: number }): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(t.status, { "content-type": "text/plain; charset=utf-8", "x-threadbox-egress": "refused", connection: "close" });
  res.end(refusal(t.host, t.reason, t.status));
}

function splitHostPort(authority: string): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(authority);
  return m ? { host: m[1] as string, port: Number(m[2]) } : null;
}

/**
 * One thread's egress proxy on the host's loopback (its sandbox reaches it at 10.0.2.2:3128, see egress-rules.ts):
 * CONNECT tunnels and absolute-URI plain HTTP, each to a host the policy allows, at an address checked before the
 * connection is made to it. A secret's header is added to plain-HTTP requests for its host, which the proxy then
 * sends over TLS (verified); CONNECT to a secret's host is refused (the proxy cannot add headers inside TLS).
 */
export async function startEgressProxy(source: EgressSource, opts: ProxyOptions): Promise<EgressProxy> {
  const log = opts.log ?? (() => {});
  const server = http.createServer({ maxHeaderSize: LIMITS.headerBytes, headersTimeout: LIMITS.headersMs, requestTimeout: LIMITS.idleMs });
  server.maxConnections = LIMITS.connections;
  server.keepAliveTimeout = 5_000;
  const target = async (host: string, port: number): Promise<Target> => {
    const policy = source.policy();
    if (!policy) return { ok: false, host, reason: "this thread has no network policy", status: 403 };
    return resolveTarget(policy, host, port, opts.hosts);
  };
  const secretsFor = (host: string) => source.secrets().filter((s) => s.host === host);
  const namedFor = (host: string) => (source.policy()?.secrets ?? []).filter((s) => s.host === host);

  // Tunnels leave the server's bookkeeping: kept here so close() ends them too.
  const tunnels = new Set<Duplex>();
  server.on("connect", (req: IncomingMessage, client: Duplex, head: Buffer) => {
    tunnels.add(client);
    client.on("close", () => tunnels.delete(client));
    client.on("error", () => client.destroy());
    const fail = (status: number, reason: string, host = "") => {
      client.end(`HTTP/1.1 ${status} ${status === 403 ? "Forbidden" : "Bad Gateway"}\r\ncontent-type: text/plain\r\nx-threadbox-egress: refused\r\nconnection: close\r\n\r\n${refusal(host, reason, status)}`);
    };
    const hp = splitHostPort(req.url ?? "");
    if (!hp) return fail(400, "CONNECT needs host:port");
    void target(hp.host, hp.port).then((t) => {
      if (!t.ok) return fail(t.status, t.reason, t.host);
      if (namedFor(t.host).length > 0) {
        return fail(403, `${t.host} has secrets: send plain http://${t.host}/ requests (the proxy adds the header and uses TLS upstream)`, t.host);
      }
      log("egress tunnel", { host: t.host, port: t.port });
      const upstream = net.connect({ host: t.address, port: t.port });
      let connected = false;
      upstream.setTimeout(LIMITS.idleMs, () => upstream.destroy());
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => connected && client.destroy());
      upstream.on("error", (e) => (connected ? client.destroy() : fail(502, `${t.host}:${t.port}: ${e.message}`, t.host)));
      upstream.once("connect", () => {
        connected = true;
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client).on("error", () => upstream.destroy());
        client.pipe(upstream);
      });
    });
  });

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      return sendRefusal(res, { host: "", status: 400, reason: "this is an egress proxy: send absolute-URI requests (http://host/...) or CONNECT" });
    }
    if (url.protocol !== "http:") return sendRefusal(res, { host: url.hostname, status: 400, reason: `${url.protocol} is not proxied as a plain request (https goes through CONNECT)` });
    const host = normalHost(url.hostname);
    void target(host, Number(url.port || 80)).then((t) => {
      if (!t.ok) return sendRefusal(res, t);
      const secrets = secretsFor(t.host);
      // A secret the policy names but this runtime has not been given (a call without it, e.g. right after a restart):
      // refused, rather than sent on without it.
      if (secrets.length < namedFor(t.host).length) {
        return sendRefusal(res, { host: t.host, status: 502, reason: `the secrets for ${t.host} are not on this runtime yet (they come with the thread's calls through the API)` });
      }
      // The URL names the destination; a Host header saying otherwise is replaced, never followed.
      const headers: Record<string, string | string[]> = { host: url.host };
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.test(k)) headers[k] = v;
      for (const s of secrets) headers[s.header.toLowerCase()] = s.value;
      const secure = secrets.length > 0;
      const options = { host: t.address, port: url.port ? t.port : secure ? 443 : 80, method: req.method, path: `${url.pathname}${url.search}`, headers, setHost: false };
      log("egress request", { host: t.host, method: req.method, secrets: secrets.length });
      const upstream = secure
        ? https.request({ ...options, servername: t.host, ca: opts.ca ? [...tls.rootCertificates, ...opts.ca] : undefined })
        : http.request(options);
      upstream.setTimeout(LIMITS.idleMs, () => upstream.destroy(new Error("upstream timed out")));
      upstream.on("response", (up) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.test(k)) out[k] = v;
        res.writeHead(up.statusCode ?? 502, out);
        up.pipe(res);
      });
      upstream.on("error", (e) => sendRefusal(res, { host: t.host, status: 502, reason: `${t.host}: ${e.message}` }));
      res.on("close", () => upstream.destroy());
      req.pipe(upstream);
    });
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close() {
      server.close();
      server.closeAllConnections();
      for (const t of tunnels) t.destroy();
    },
  };
}
