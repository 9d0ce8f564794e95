import { BEARER_PROTOCOL_PREFIX, TERMINAL_PROTOCOL } from "../../shared/src/index.ts";
import type { ThreadScope } from "./scope.ts";

/** The WebSocket constructor to use: the platform's (browsers, Workers, Deno, Bun, Node ≥ 22), or one given (`ws`). */
export type WebSocketLike = new (url: string, protocols?: string | string[]) => WebSocket;

export interface TerminalOptions {
  WebSocket?: WebSocketLike;
}

/**
 * A terminal: bash on a PTY in the thread's sandbox, as a WebSocket. Send input as binary frames or
 * `{"type":"input","data":...}`, resize with `{"type":"resize","cols":...,"rows":...}`; output arrives as binary
 * frames. Closing the socket ends the shell. The credential rides as the subprotocol `bearer.<credential>` (a
 * WebSocket cannot carry Authorization), never in the URL.
 */
export async function openTerminal(scope: ThreadScope, opts: TerminalOptions = {}): Promise<WebSocket> {
  const Ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketLike }).WebSocket;
  if (!Ctor) throw new TypeError("Threadbox: this platform has no WebSocket; pass one as { WebSocket } (e.g. the ws package)");
  const url = scope.http.url(scope.path("/terminal")).replace(/^http/, "ws");
  return new Ctor(url, [TERMINAL_PROTOCOL, `${BEARER_PROTOCOL_PREFIX}${await scope.http.credential()}`]);
}
