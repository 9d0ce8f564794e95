import { type IncomingMessage, type ServerResponse, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP proxy on loopback between a client and the worker that can break a streaming answer on purpose: after the
 * first `afterLines` lines (NDJSON events) of a chosen request's body it resets the connection (`reset`), ends the
 * body cleanly without the rest (`end`), or sends half of the next line and then resets (`mid-line`). Every other
 * request passes through untouched.
 */
export type CutMode = "reset" | "end" | "mid-line";
export interface CutPlan {
  afterLines: number;
  mode: CutMode;
}
export interface CutProxy {
  url: string;
  /** Requests seen, as `METHOD path`, in order. */
  seen: string[];
  /** Answers cut so far. */
  cuts: number;
  /** Decides per request whether to cut its answer (called once per request). */
  plan: (method: string, path: string) => CutPlan | undefined;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);

export async function startCutProxy(upstream: string): Promise<CutProxy> {
  const target = new URL(upstream);
  const proxy: CutProxy = { url: "", seen: [], cuts: 0, plan: () => undefined, stop: async () => undefined };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/";
    proxy.seen.push(`${req.method} ${path}`);
    const plan = proxy.plan(req.method ?? "GET", path);
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path, headers: { ...req.headers, host: target.host } },
      (upRes) => {
        const headers = Object.fromEntries(Object.entries(upRes.headers).filter(([k]) => !HOP_BY_HOP.has(k)));
        res.writeHead(upRes.statusCode ?? 502, headers);
        if (!plan) {
          upRes.pipe(res);
          return;
        }
        let lines = 0;
        let cutting = false;
        upRes.on("data", (chunk: Buffer) => {
          if (cutting) return;
          let end = chunk.length;
          for (let i = 0; i < chunk.length; i++) {
            if (chunk[i] !== 0x0a) continue;
            lines += 1;
            if (lines === plan.afterLines) {
              end = i + 1;
              cutting = true;
              break;
            }
          }
          res.write(chunk.subarray(0, end));
          if (!cutting) return;
          proxy.cuts += 1;
          const rest = chunk.subarray(end);
          const finish = (extra: Buffer) => {
            upRes.destroy();
            up.destroy();
            if (plan.mode === "end") {
              res.end();
              return;
            }
            if (extra.length > 0) res.write(extra);
            // Let the half line reach the client before the reset, so it really sees a cut line.
            setTimeout(() => res.socket?.resetAndDestroy(), extra.length > 0 ? 50 : 0);
          };
          if (plan.mode !== "mid-line") return finish(Buffer.alloc(0));
          if (rest.length > 1) return finish(rest.subarray(0, Math.ceil(rest.length / 2)));
          // The next line has not arrived yet: wait for its first bytes.
          upRes.once("data", (next: Buffer) => finish(Buffer.concat([rest, next]).subarray(0, Math.max(1, Math.ceil((rest.length + next.length) / 2)))));
        });
        upRes.on("end", () => {
          if (!cutting) res.end();
        });
      },
    );
    up.on("error", () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
