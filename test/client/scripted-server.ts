import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ExecutionEvent } from "../../shared/src/index.ts";

/**
 * A real HTTP server on loopback whose answers a test scripts request by request: the SDK under test talks to it with
 * the real fetch, so connection resets, cut bodies and retries are real network behaviour, not stubs.
 */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export type Handler = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

export interface ScriptedServer {
  url: string;
  requests: SeenRequest[];
  /** Handlers are used in order, one per request; the last one repeats. */
  script(...handlers: Handler[]): void;
  stop(): Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const requests: SeenRequest[] = [];
  let handlers: Handler[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() };
    requests.push(seen);
    const handler = handlers.length > 1 ? handlers.shift() : handlers[0];
    if (!handler) {
      json(500, { error: { code: "INTERNAL_ERROR", message: "no script" } })(seen, res);
      return;
    }
    await handler(seen, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...h) => {
      handlers = h;
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
}

export const NDJSON_TYPE = "application/x-ndjson; charset=utf-8";

/**
 * An NDJSON stream of `events`; then `end` (a clean end), `cut` (the connection is destroyed) or `cut-mid-line` (half
 * of one more event's line is sent, then the connection is destroyed).
 */
export function ndjson(events: ExecutionEvent[], after: "end" | "cut" | "cut-mid-line" = "end", next?: ExecutionEvent): Handler {
  return async (_req, res) => {
    res.writeHead(200, { "content-type": NDJSON_TYPE, "x-execution-id": events[0]?.execution_id ?? next?.execution_id ?? "ex_1" });
    for (const e of events) {
      res.write(`${JSON.stringify(e)}\n`);
      // Separate chunks, as a live run sends them.
      await new Promise((r) => setTimeout(r, 5));
    }
    if (after === "end") {
      res.end();
      return;
    }
    if (after === "cut-mid-line" && next) {
      const line = JSON.stringify(next);
      res.write(line.slice(0, Math.floor(line.length / 2)));
      await new Promise((r) => setTimeout(r, 20));
    }
    res.socket?.destroy();
  };
}

/** A run's events: start, `lines` stdout events, an exec result. */
export function execEvents(lines: number, id = "ex_test"): ExecutionEvent[] {
  const events: ExecutionEvent[] = [{ seq: 0, execution_id: id, type: "start", kind: "exec", thread_id: "t", started_at: new Date(0).toISOString() }];
  for (let i = 1; i <= lines; i++) events.push({ seq: i, execution_id: id, type: "stdout", data: `line ${i}\n` });
  const stdout = Array.from({ length: lines }, (_, i) => `line ${i + 1}\n`).join("");
  events.push({
    seq: lines + 1,
    execution_id: id,
    type: "result",
    result: {
      kind: "exec",
      value: { execution_id: id, exit_code: 0, signal: null, stdout, stderr: "", timed_out: false, canceled: false, truncated: false, duration_ms: 1 },
    },
  });
  return events;
}
