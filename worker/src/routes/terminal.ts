import { Hono } from "hono";
import { AppError, ErrorCode, TERMINAL_PROTOCOL, runtimePaths } from "../../../shared/src/index.ts";
import { type AppEnv, fromRpc, threadFromPath } from "../http/context.ts";
import { passThrough } from "../preview/pass-through.ts";
import { runtimeClient } from "../runtime/client.ts";

/**
 * `GET /v1/threads/:thread/terminal`: a WebSocket to bash on a PTY in the thread's sandbox (the runtime's
 * terminal-socket.ts says what its frames carry). Authenticated like every `/v1` route; a browser, which cannot set
 * Authorization on a WebSocket, offers its credential as the subprotocol `bearer.<key or token>` next to
 * `threadbox.terminal` (auth/middleware.ts), and only `threadbox.terminal` is answered.
 */
export function terminalRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v1/threads/:thread/terminal", async (c) => {
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      throw new AppError(ErrorCode.VALIDATION_FAILED, "the terminal is a WebSocket: send Upgrade: websocket");
    }
    const target = threadFromPath(c);
    const { url } = await fromRpc(target.stub.route(target.access, false, target.createAs));
    const headers = new Headers({ Upgrade: "websocket", "Sec-WebSocket-Protocol": TERMINAL_PROTOCOL });
    const res = await runtimeClient(c.env).open(url, { method: "GET", path: runtimePaths.terminal(target.ref), headers, body: null });
    if (res.status !== 101) return passThrough(res);
    // The runtime chose threadbox.terminal; the client gets it only if it offered it (a client that offered none
    // must get none back).
    const offered = (c.req.header("Sec-WebSocket-Protocol") ?? "").split(",").map((p) => p.trim());
    const answer = passThrough(res);
    if (!offered.includes(TERMINAL_PROTOCOL)) answer.headers.delete("Sec-WebSocket-Protocol");
    return answer;
  });
  return app;
}
