import { Hono } from "hono";
import { AppError, ErrorCode, TERMINAL_PROTOCOL, newTerminalId, runtimePaths } from "../../../shared/src/index.ts";
import { type AppEnv, fromRpc, threadFromPath } from "../http/context.ts";
import { passThrough } from "../preview/pass-through.ts";
import { runtimeClient } from "../runtime/client.ts";

/**
 * `GET /v1/threads/:thread/terminal`: a WebSocket to bash on a PTY in the thread's sandbox (the runtime's
 * terminal-socket.ts says what its frames carry). Authenticated like every `/v1` route; a browser, which cannot set
 * Authorization on a WebSocket, offers its credential as the subprotocol `bearer.<key or token>` next to
 * `threadbox.terminal` (auth/middleware.ts), and only `threadbox.terminal` is answered.
 *
 * The socket passes through untouched (workerd pipes it, with the runtime's backpressure); the terminal is named here
 * (`x-threadbox-terminal-id`, to the runtime and in the answer) and its open recorded in the thread's history once
 * the runtime accepted it. Its end is what the runtime reports later (do/thread-terminals.ts).
 */
export function terminalRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v1/threads/:thread/terminal", async (c) => {
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      throw new AppError(ErrorCode.VALIDATION_FAILED, "the terminal is a WebSocket: send Upgrade: websocket");
    }
    const target = threadFromPath(c);
    const { url } = await fromRpc(target.stub.route(target.access, false, target.createAs));
    const id = newTerminalId();
    const headers = new Headers({ Upgrade: "websocket", "Sec-WebSocket-Protocol": TERMINAL_PROTOCOL, "x-threadbox-terminal-id": id });
    const res = await runtimeClient(c.env).open(url, { method: "GET", path: runtimePaths.terminal(target.ref), headers, body: null });
    if (res.status !== 101 || !res.webSocket) return passThrough(res);
    const upstream = res.webSocket;
    // Recorded before the client gets the socket; a terminal that cannot be recorded is not opened.
    await fromRpc(target.stub.terminalOpened(target.access, id)).catch((err: unknown) => {
      upstream.accept();
      upstream.close(1011, "the terminal could not be recorded");
      throw err;
    });
    // The runtime chose threadbox.terminal; the client gets it only if it offered it (a client that offered none
    // must get none back).
    const offered = (c.req.header("Sec-WebSocket-Protocol") ?? "").split(",").map((p) => p.trim());
    const answer = passThrough(res, { "X-Threadbox-Terminal-Id": id });
    if (!offered.includes(TERMINAL_PROTOCOL)) answer.headers.delete("Sec-WebSocket-Protocol");
    return answer;
  });
  return app;
}
