import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { NetworkPolicyView } from "../../../../shared/src/index.ts";
import { addressRefusal, nameRefusal, normalHost, plainAddress } from "./egress-match.ts";

/** What the operator says a name is (EGRESS_HOSTS): trusted as given, loopback and private included. */
export type HostMap = ReadonlyMap<string, string>;

/** Where the proxy connects: the address it checked (never resolved again: no DNS-rebinding window). */
export type Target = { ok: true; host: string; address: string; port: number } | { ok: false; host: string; reason: string; status: 403 | 502 };

const NAME = /^[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_])?$/;

/** Checks a destination against the thread's policy, resolves it, checks the address; then says where to connect. */
export async function resolveTarget(policy: NetworkPolicyView, rawHost: string, port: number, hosts: HostMap): Promise<Target> {
  const host = normalHost(rawHost);
  const refuse = (reason: string, status: 403 | 502 = 403): Target => ({ ok: false, host, reason, status });
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return refuse(`port ${port} is not a port`);
  if (isIP(host)) {
    const why = addressRefusal(policy, host, null);
    return why ? refuse(why) : { ok: true, host, address: plainAddress(host), port };
  }
  if (!NAME.test(host)) return refuse(`"${rawHost.slice(0, 100)}" is not a host name`);
  const byName = nameRefusal(policy, host);
  if (byName) return refuse(byName);
  const mapped = hosts.get(host);
  if (mapped) return { ok: true, host, address: mapped, port };
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch (err) {
    return refuse(`${host} could not be resolved (${(err as NodeJS.ErrnoException).code ?? "error"})`, 502);
  }
  let why = `${host} has no address`;
  for (const { address } of addresses) {
    const refusal = addressRefusal(policy, address, host);
    if (!refusal) return { ok: true, host, address: plainAddress(address), port };
    why = refusal;
  }
  return refuse(why);
}

/** EGRESS_HOSTS: `name=address,...`. */
export function parseHostMap(text: string): Map<string, string> | { bad: string[] } {
  const map = new Map<string, string>();
  const bad: string[] = [];
  for (const item of text.split(",").map((t) => t.trim()).filter(Boolean)) {
    const [name = "", address = "", extra] = item.split("=");
    if (extra !== undefined || !NAME.test(normalHost(name)) || !isIP(address)) bad.push(item);
    else map.set(normalHost(name), address);
  }
  return bad.length > 0 ? { bad } : map;
}
