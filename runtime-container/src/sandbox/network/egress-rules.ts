import { readFileSync } from "node:fs";
import os from "node:os";
import { type AllowList, type Cidr, parseCidr } from "./cidr.ts";

/** slirp4netns's gateway: the host, as the sandbox sees it (its loopback when host loopback is not disabled). */
export const SLIRP_GATEWAY = "10.0.2.2";

/**
 * What a sandbox with network "default" may not reach through its user-mode stack: the host itself (every address of
 * its interfaces, and their subnets), loopback, link-local (cloud metadata at 169.254.169.254), private, shared,
 * benchmarking and multicast ranges. Everything else (the internet) is open, and so are the host's DNS servers on
 * port 53, the ranges the operator allows (SANDBOX_NET_ALLOW) and the host loopback ports it names there.
 */
export const BLOCKED: readonly string[] = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/3",
  "::1",
  "fc00::/7",
  "fe80::/10",
  "ff00::/8",
];

export interface EgressPolicy {
  /** The host's resolvers: /etc/resolv.conf, which the sandbox reads too. */
  dns: Cidr[];
  /** SANDBOX_NET_ALLOW and the package indexes. */
  allow: AllowList;
  /** Every address of the host's own interfaces and each one's subnet. */
  host: Cidr[];
}

/** The host's nameservers; a loopback resolver is left out (a sandbox's loopback is its own). */
export function nameservers(resolvConf: string): Cidr[] {
  return resolvConf
    .split("\n")
    .flatMap((line) => {
      const m = /^\s*nameserver\s+(\S+)/.exec(line);
      const ns = m?.[1] ? parseCidr(m[1].replace(/%.*$/, "")) : null;
      return ns && !/^(127\.|::1$)/.test(ns.text) ? [ns] : [];
    });
}

/** The host's interface addresses (not loopback's: 127/8 and ::1 are blocked anyway) and their subnets. */
export function hostAddresses(): Cidr[] {
  return Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal)
    .flatMap((a) => [parseCidr(a.address.replace(/%.*$/, "")), parseCidr(a.cidr?.replace(/%.*$/, "") ?? "")])
    .filter((c): c is Cidr => c !== null);
}

/** The policy of this host now (interfaces and resolvers are read at each namespace's creation). */
export function currentPolicy(allow: AllowList): EgressPolicy {
  let resolv = "";
  try {
    resolv = readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    // No resolver configured: DNS fails in sandboxes as it does on the host.
  }
  return { dns: nameservers(resolv), allow, host: hostAddresses() };
}

const match = (c: Cidr) => `${c.family === 4 ? "ip" : "ip6"} daddr ${c.text}`;
const reject = (c: Cidr) => `${match(c)} reject with ${c.family === 4 ? "icmp type" : "icmpv6 type"} admin-prohibited`;

/**
 * The nftables ruleset of one sandbox's network namespace: its output chain accepts loopback (the sandbox's own),
 * DNS to the host's resolvers, the allowed ranges; rejects the blocked ones at once (admin-prohibited: connect()
 * fails immediately instead of timing out); accepts the rest. One rule per range: ranges may overlap.
 * An allowed host loopback port is reached at 127.0.0.1:PORT: those connections are sent to slirp's gateway
 * (which leads to the host's loopback only then, and only for those ports) and leave from the tap address
 * (route_localnet lets a 127.0.0.1 source out before the masquerade, see namespace.ts).
 */
export function egressRuleset(policy: EgressPolicy): string {
  const blocked = [...BLOCKED.map((b) => parseCidr(b) as Cidr), ...policy.host];
  const ports = policy.allow.loopbackPorts.join(", ");
  const rules = [
    'oif "lo" accept',
    ...policy.dns.flatMap((ns) => [`${match(ns)} udp dport 53 accept`, `${match(ns)} tcp dport 53 accept`]),
    ...policy.allow.ranges.map((c) => `${match(c)} accept`),
    ...(ports ? [`ip daddr ${SLIRP_GATEWAY} tcp dport { ${ports} } accept`] : []),
    ...blocked.map(reject),
  ];
  const nat = ports
    ? [
        "table ip threadbox-nat {",
        "  chain output {",
        "    type nat hook output priority -100; policy accept;",
        `    ip daddr 127.0.0.1 tcp dport { ${ports} } dnat to ${SLIRP_GATEWAY}`,
        "  }",
        "  chain postrouting {",
        "    type nat hook postrouting priority 100; policy accept;",
        '    oifname "tap0" ip saddr 127.0.0.0/8 masquerade',
        "  }",
        "}",
      ]
    : [];
  return [
    ...nat,
    "table inet threadbox {",
    "  chain output {",
    "    type filter hook output priority 0; policy accept;",
    ...rules.map((r) => `    ${r}`),
    "  }",
    "}",
    "",
  ].join("\n");
}
