import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

/** What an upstream test server saw of one request. */
export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface Upstream {
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

function handler(seen: Seen[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    req.resume();
    res.end(`upstream says hi to ${req.url}\n`);
  };
}

async function serve(server: http.Server | https.Server, seen: Seen[]): Promise<Upstream> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A plain HTTP server on the host's loopback that records what it is sent. */
export function startHttpUpstream(): Promise<Upstream> {
  const seen: Seen[] = [];
  return serve(http.createServer(handler(seen)), seen);
}

/** A self-signed certificate for `name` (its own CA), made with openssl for this test run. */
export function makeCertificate(name: string): { cert: string; key: string; caFile: string; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "egress-cert-"));
  const [key, cert] = [path.join(dir, "key.pem"), path.join(dir, "cert.pem")];
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
    "-days", "1", "-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${name}`], { stdio: "ignore" });
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8"), caFile: cert, dir };
}

/** An HTTPS server on the host's loopback with that certificate, recording what it is sent. */
export function startHttpsUpstream(tls: { cert: string; key: string }): Promise<Upstream> {
  const seen: Seen[] = [];
  return serve(https.createServer({ cert: tls.cert, key: tls.key }, handler(seen)), seen);
}

export const removeCertificate = (dir: string) => rmSync(dir, { recursive: true, force: true });
