import { BlockList, isIP } from "node:net";
import type { NetworkPolicyView } from "../../../../shared/src/index.ts";
import { BLOCKED, hostAddresses } from "./egress-rules.ts";
import { parseCidr } from "./cidr.ts";

/** Why the proxy refuses a destination; null: it may go. */
export type Refusal = string | null;

/** A host as a client names it: lower case, no brackets, no trailing dot. */
export function normalHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
}

const nameMatches = (rule: string, host: string) =>
  rule.startsWith("*.") ? host.endsWith(rule.slice(1)) && host.length > rule.length - 1 : host === rule;

function rangeList(rules: readonly string[]): BlockList {
  const list = new BlockList();
  for (const rule of rules) {
    const cidr = parseCidr(rule);
    if (!cidr) continue;
    const type = cidr.family === 4 ? "ipv4" : "ipv6";
    const [address = "", prefix] = cidr.text.split("/");
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** `::ffff:a.b.c.d` is a.b.c.d: checked (and connected to) as the IPv4 address it is. */
export function plainAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m?.[1] ?? address;
}

const inList = (list: BlockList, address: string) => list.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");

/** Allowed by the policy's names (deny wins): for a host name, before it is resolved. */
export function nameRefusal(policy: NetworkPolicyView, host: string): Refusal {
  if (isIP(host)) return null;
  if ((policy.deny ?? []).some((r) => nameMatches(r, host))) return `${host} is denied by this thread's network policy`;
  if (!policy.allow.some((r) => nameMatches(r, host))) return `${host} is not in this thread's network policy (allow: ${policy.allow.join(", ")})`;
  return null;
}

/** Loopback and "this host" ranges: never reached through the proxy (the runtime and its own services live there). */
const NEVER = rangeList(["0.0.0.0/8", "127.0.0.0/8", "::1", "::"]);

/**
 * May the proxy connect to this address? An address literal the client named needs an allowed range; a name's
 * address must not be loopback, link-local (metadata), private, the host's own or otherwise special, unless a range
 * of the policy allows it explicitly. Loopback never.
 */
export function addressRefusal(policy: NetworkPolicyView, address: string, named: string | null): Refusal {
  const a = plainAddress(address);
  const what = named ? `${named} (${a})` : a;
  if (inList(NEVER, a)) return `${what} is a loopback address: the egress proxy never connects there`;
  const allowed = rangeList(policy.allow);
  const denied = rangeList(policy.deny ?? []);
  if (inList(denied, a)) return `${what} is denied by this thread's network policy`;
  if (inList(allowed, a)) return null;
  if (!named) return `direct connections to addresses are refused (${a}): name a host, or allow its range in the policy`;
  const special = rangeList([...BLOCKED, ...hostAddresses().map((c) => c.text)]);
  if (inList(special, a)) return `${what} is a private, link-local or host address: allow its range in the policy to reach it`;
  return null;
}
