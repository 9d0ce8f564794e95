/** A close code one may send (1005, 1006 and 1015 only describe a close; an endpoint never sends them). */
const sendable = (code: number | undefined): code is number =>
  code !== undefined && ((code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999));

/**
 * Relays a terminal WebSocket between the client and the runtime's socket, frame by frame (text stays text, binary
 * binary), so the worker sees its end: when either side closes or fails, the other is closed with the same code
 * (or 1000) and `onEnd` runs once with the code seen (null: none, or a failure). Returns the client's end to answer
 * the upgrade with.
 */
export function relayTerminal(upstream: WebSocket, onEnd: (code: number | null) => void): WebSocket {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  // Binary frames as ArrayBuffers, sent on at once: a Blob (the standard default) would need an await per frame
  // and could reorder them.
  server.binaryType = "arraybuffer";
  upstream.binaryType = "arraybuffer";
  server.accept();
  upstream.accept();
  let ended = false;
  const end = (other: WebSocket, code: number | null, reason = "") => {
    if (ended) return;
    ended = true;
    try {
      other.close(sendable(code ?? undefined) ? (code as number) : 1000, reason.slice(0, 120));
    } catch {
      // already closing or closed
    }
    onEnd(code);
  };
  const pipe = (from: WebSocket, to: WebSocket) => {
    from.addEventListener("message", (event) => {
      try {
        to.send(event.data);
      } catch {
        end(from, null, "the other side is gone");
      }
    });
    from.addEventListener("close", (event) => end(to, event.code, event.reason));
    from.addEventListener("error", () => end(to, null, "the socket failed"));
  };
  pipe(server, upstream);
  pipe(upstream, server);
  return client;
}
