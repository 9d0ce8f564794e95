/**
 * A runtime's answer handed to the client as it is: a WebSocket (101) with its socket, anything else with its
 * body streaming. Always a new Response: fetch's own has immutable headers, and the app's middleware adds some.
 */
export function passThrough(res: Response, extraHeaders: Record<string, string> = {}): Response {
  if (res.status === 101 && res.webSocket) {
    // The handshake's own headers are the worker's to make for its client; only the chosen subprotocol carries over.
    const protocol = res.headers.get("Sec-WebSocket-Protocol");
    const headers = new Headers(protocol ? { "Sec-WebSocket-Protocol": protocol } : {});
    for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
    return new Response(null, { status: 101, webSocket: res.webSocket, headers });
  }
  const headers = new Headers(res.headers);
  // Appended: a server's own header of the same name (a CSP) stays, and both apply.
  for (const [name, value] of Object.entries(extraHeaders)) headers.append(name, value);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}
