import { z } from "zod";
import { ExposePortSchema, ExposedPortSchema } from "../../shared/src/index.ts";
import { RUNTIME, THREAD } from "./openapi-errors.ts";
import type { Op } from "./openapi-routes.ts";

/** The preview URL and terminal routes (routes/ports.ts, routes/terminal.ts), for openapi-routes.ts. */
export const PREVIEW_ROUTES: Record<string, Record<string, Op>> = {
  "/v1/threads/{thread}/ports": {
    post: {
      id: "exposePort",
      tag: "Previews",
      summary: "A preview URL for a port of the thread's sandbox (HTTP and WebSocket; works for network \"none\" threads too)",
      description:
        "The URL carries a capability for this port of this thread until `expires_at` (ttl_seconds, 1 h by default, at most 7 days): " +
        "no API key or token is needed to open it. Exposing the port again keeps its URLs valid; at most 16 ports at once. " +
        "The URL, `/preview/<capability>/<path>`, takes any method and WebSocket upgrades and passes the server's answer through; " +
        "it answers 403 FORBIDDEN for a capability that is not genuine, 404 NOT_FOUND once revoked or expired, and 502 " +
        "PORT_NOT_LISTENING when nothing listens on the port.",
      body: ExposePortSchema,
      ok: ExposedPortSchema,
      status: 201,
      errors: [...THREAD],
    },
    get: { id: "listPorts", tag: "Previews", summary: "The thread's exposed ports and their URLs", ok: z.object({ ports: z.array(ExposedPortSchema) }), errors: [...THREAD] },
  },
  "/v1/threads/{thread}/ports/{port}": {
    delete: {
      id: "revokePort",
      tag: "Previews",
      summary: "Revoke a port's preview URLs (all of them, at once)",
      ok: z.object({ port: z.number().int(), revoked: z.boolean() }),
      errors: [...THREAD, "VALIDATION_FAILED"],
    },
  },
  "/v1/threads/{thread}/terminal": {
    get: {
      id: "openTerminal",
      tag: "Previews",
      summary: "A WebSocket to bash on a PTY in the thread's sandbox (101 Switching Protocols)",
      description:
        "Send `Upgrade: websocket`, subprotocol `threadbox.terminal`; a browser offers its credential as a second subprotocol " +
        "`bearer.<api key or token>`. Binary frames are raw input and output; text frames are JSON `{\"type\":\"resize\",\"cols\",\"rows\"}` " +
        "or `{\"type\":\"input\",\"data\"}`. Closing the socket ends the shell and everything it started. The answer's " +
        "`X-Threadbox-Terminal-Id` names the terminal's record in the execution history (open, then closed).",
      ok: "bytes",
      status: 101,
      errors: [...THREAD, ...RUNTIME, "VALIDATION_FAILED", "DISK_QUOTA_EXCEEDED"],
    },
  },
};
