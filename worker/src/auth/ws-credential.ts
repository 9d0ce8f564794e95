import { BEARER_PROTOCOL_PREFIX } from "../../../shared/src/index.ts";

/**
 * A WebSocket's credential offered as a subprotocol, `bearer.<api key or token>` (a browser cannot set Authorization
 * on a WebSocket, and a URL would put it in logs), as the Authorization header it stands for; undefined otherwise.
 * Only on an upgrade: a plain request must use Authorization.
 */
export function webSocketCredential(upgrade: string | undefined, protocols: string | undefined): string | undefined {
  if (upgrade?.toLowerCase() !== "websocket" || !protocols) return undefined;
  const offered = protocols.split(",").map((p) => p.trim());
  const credential = offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX))?.slice(BEARER_PROTOCOL_PREFIX.length);
  return credential ? `Bearer ${credential}` : undefined;
}
