import { isIP } from "node:net";

/** An address or range, `ADDRESS[/PREFIX]`, as nft reads it (nft clears the host bits of a prefix itself). */
export interface Cidr {
  family: 4 | 6;
  text: string;
}

/**
 * What SANDBOX_NET_ALLOW opens to a sandbox with network "default": address ranges it could not reach otherwise
 * (private ones, the host's own addresses), and ports of the host's loopback, which the sandbox then reaches at the
 * same address (127.0.0.1:PORT), e.g. a package mirror the runtime points pip at.
 */
export interface AllowList {
  ranges: Cidr[];
  loopbackPorts: number[];
}

/** Parses `ADDRESS[/PREFIX]`; null when it is not one. */
export function parseCidr(input: string): Cidr | null {
  const text = input.trim();
  const [address = "", prefix, extra] = text.split("/");
  const family = isIP(address);
  if ((family !== 4 && family !== 6) || extra !== undefined) return null;
  if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))) return null;
  return { family, text };
}

/** Parses `CIDR,127.0.0.1:PORT,...`; returns the list, or the entries it cannot read. */
export function parseAllowList(text: string): AllowList | { bad: string[] } {
  const list: AllowList = { ranges: [], loopbackPorts: [] };
  const bad: string[] = [];
  for (const item of text.split(",").map((t) => t.trim()).filter(Boolean)) {
    const loopback = /^(?:127\.0\.0\.1|localhost):(\d{1,5})$/.exec(item);
    const port = loopback ? Number(loopback[1]) : 0;
    const cidr = loopback ? null : parseCidr(item);
    if (port > 0 && port < 65_536) list.loopbackPorts.push(port);
    else if (cidr) list.ranges.push(cidr);
    else bad.push(item);
  }
  return bad.length > 0 ? { bad } : list;
}

/**
 * What a package index URL the runtime gives sandboxes needs opened: its port on the host's loopback, or its address
 * when that is a literal one (a host name is resolved by the sandbox and reached like any other).
 */
export function allowanceFor(url: string | undefined): AllowList {
  const list: AllowList = { ranges: [], loopbackPorts: [] };
  if (!url) return list;
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  if (host === "localhost" || host === "127.0.0.1") list.loopbackPorts.push(port);
  else {
    const cidr = parseCidr(host);
    if (cidr) list.ranges.push(cidr);
  }
  return list;
}

export function mergeAllowLists(...lists: AllowList[]): AllowList {
  return {
    ranges: lists.flatMap((l) => l.ranges),
    loopbackPorts: [...new Set(lists.flatMap((l) => l.loopbackPorts))],
  };
}
