import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { AppError, ErrorCode, REQUEST_ID_HEADER, toAppError } from "../../../shared/src/index.ts";
import { proxyUpgrade } from "../ports/ws-proxy.ts";
import { parseProxyTarget, parseTerminalTarget } from "../ports/proxy-path.ts";
import type { Services } from "../services.ts";
import { openTerminal } from "../terminal/terminal-socket.ts";
import type { SignatureCheck } from "./signature-check.ts";

/** An error as the raw HTTP answer to an upgrade request (no WebSocket was made). */
export function refuseUpgrade(socket: Duplex, err: unknown, requestId?: string): void {
  const e = toAppError(err);
  const body = JSON.stringify(e.toBody(requestId));
  const reason = e.status === 502 ? "Bad Gateway" : e.status === 429 ? "Too Many Requests" : "Error";
  socket.end(
    `HTTP/1.1 ${e.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * WebSocket upgrades, which Hono's server does not see: signed like every request (the same replay cache), then a
 * preview URL's WebSocket is relayed to the sandbox's server as raw bytes, and a terminal is opened.
 */
export function attachUpgrades(server: Server, s: Services, signatures: SignatureCheck): void {
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => undefined);
    const requestId = typeof req.headers[REQUEST_ID_HEADER] === "string" ? req.headers[REQUEST_ID_HEADER] : undefined;
    void (async () => {
      const target = req.url ?? "/";
      const header = (name: string) => {
        const v = req.headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      };
      await signatures.check(req.method ?? "GET", target, header);
      const proxy = parseProxyTarget(target);
      if (proxy) return proxyUpgrade(s, req, socket, head, proxy);
      const terminal = parseTerminalTarget(new URL(target, "http://runtime").pathname);
      if (terminal) return openTerminal(s, req, socket, head, terminal);
      throw new AppError(ErrorCode.NOT_FOUND, `no WebSocket route for ${target}`);
    })().catch((err: unknown) => {
      if (toAppError(err).code === ErrorCode.INTERNAL_ERROR) s.logger.error("upgrade failed", { error: String(err) });
      if (!socket.destroyed) refuseUpgrade(socket, err, requestId);
    });
  });
}
