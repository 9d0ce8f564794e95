import { type IncomingMessage, request } from "node:http";
import { Readable } from "node:stream";
import { Hono } from "hono";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { Services } from "../services.ts";
import { parseProxyTarget } from "./proxy-path.ts";
import { connectToPort } from "./relay-socket.ts";
import { requestHead, responseHeaders } from "./proxy-headers.ts";

const BODYLESS_STATUS = new Set([204, 205, 304]);

/**
 * A preview URL's HTTP request, any method, to the sandbox's server on its port: through a relay in the thread's
 * network namespace (relay-socket.ts), one connection per request, bodies streamed both ways. The worker checked
 * the capability; this route is signed like every other (its body digest is STREAMED_BODY_SHA256, hmac-auth.ts).
 */
export function portProxyRoutes(s: Services): Hono {
  const app = new Hono();
  app.all("/threads/:tenant/:thread/ports/:port/proxy/*", (c) => proxy(s, c.req.raw));
  app.all("/threads/:tenant/:thread/ports/:port/proxy", (c) => proxy(s, c.req.raw));
  return app;
}

async function proxy(s: Services, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const target = parseProxyTarget(url.pathname + url.search);
  if (!target) throw new AppError(ErrorCode.NOT_FOUND, "not a proxy path");
  const loc = s.workspaces.locate(target.ref);
  const socket = await connectToPort(s, loc, target.port);
  const head = requestHead(req.headers, target.port);
  return new Promise<Response>((resolve, reject) => {
    const out = request({ method: req.method, path: target.rest, headers: head, createConnection: () => socket });
    out.once("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 502;
      const body = req.method === "HEAD" || BODYLESS_STATUS.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      if (!body) res.resume();
      res.once("close", () => socket.destroy());
      resolve(new Response(body, { status, headers: responseHeaders(res.rawHeaders) }));
    });
    out.once("error", (err) => {
      socket.destroy();
      reject(
        new AppError(ErrorCode.PORT_NOT_LISTENING, `the server on port ${target.port} inside the sandbox did not answer over HTTP: ${err.message}`, {
          port: target.port,
        }),
      );
    });
    if (req.body && req.method !== "GET" && req.method !== "HEAD") Readable.fromWeb(req.body as import("node:stream/web").ReadableStream).pipe(out);
    else out.end();
  });
}
