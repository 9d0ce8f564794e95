import { SLIRP_GATEWAY } from "./egress-rules.ts";

/** Where a sandbox under a network policy finds its egress proxy: the same address in every thread. */
export const PROXY_GUEST_ADDRESS = `${SLIRP_GATEWAY}:3128`;
export const PROXY_GUEST_URL = `http://${PROXY_GUEST_ADDRESS}`;

/** What a sandbox under a policy gets in its environment: its clients send everything through the proxy. */
export const PROXY_ENV: Readonly<Record<string, string>> = {
  HTTP_PROXY: PROXY_GUEST_URL,
  HTTPS_PROXY: PROXY_GUEST_URL,
  http_proxy: PROXY_GUEST_URL,
  https_proxy: PROXY_GUEST_URL,
  ALL_PROXY: PROXY_GUEST_URL,
  NO_PROXY: "localhost,127.0.0.1,::1",
  no_proxy: "localhost,127.0.0.1,::1",
};

/**
 * The nftables ruleset of a thread under a network policy: its own loopback, and its proxy, nothing else. The
 * proxy listens on the host's loopback at `port` (a port of its own per thread); slirp4netns leads 10.0.2.2 there,
 * and only that port is let through (every other host loopback port, the runtime's included, stays shut). No DNS:
 * names are resolved by the proxy, after the policy said yes.
 */
export function proxyRuleset(port: number): string {
  return [
    "table ip threadbox-nat {",
    "  chain output {",
    "    type nat hook output priority -100; policy accept;",
    `    ip daddr ${SLIRP_GATEWAY} tcp dport 3128 dnat to ${SLIRP_GATEWAY}:${port}`,
    "  }",
    "}",
    "table inet threadbox {",
    "  chain output {",
    "    type filter hook output priority 0; policy accept;",
    '    oif "lo" accept',
    `    ip daddr ${SLIRP_GATEWAY} tcp dport ${port} accept`,
    "    meta l4proto tcp reject with tcp reset",
    "    reject with icmpx type admin-prohibited",
    "  }",
    "}",
    "",
  ].join("\n");
}
