import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ThreadRef } from "../../../shared/src/index.ts";
import type { Services } from "../services.ts";
import { upgradeHead } from "./proxy-headers.ts";
import { connectToPort } from "./relay-socket.ts";

/**
 * A preview URL's upgrade (a WebSocket, or any other protocol switch) relayed as bytes: the request head, rewritten
 * for the sandbox's server, then both directions as they come. The server's own answer (101 or a refusal) goes back
 * as it is. Either side closing ends both.
 */
export async function proxyUpgrade(
  s: Services,
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  target: { ref: ThreadRef; port: number; rest: string },
): Promise<void> {
  const server = await connectToPort(s, s.workspaces.locate(target.ref), target.port);
  server.write(upgradeHead(req.method ?? "GET", target.rest, req.rawHeaders, target.port));
  if (head.length > 0) server.write(head);
  const end = () => {
    server.destroy();
    client.destroy();
  };
  server.once("close", end);
  server.once("error", end);
  // The worker's side is half-open capable (Node's HTTP server allows it): its end is the end of the connection,
  // or the relay would wait on a sandbox server that never closes.
  client.once("end", end);
  client.once("close", end);
  client.once("error", end);
  server.pipe(client);
  client.pipe(server);
}
