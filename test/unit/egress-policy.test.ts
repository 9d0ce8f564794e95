import { describe, expect, it } from "vitest";
import { NetworkPolicySchema, openSecrets, policyView, sealSecrets } from "../../shared/src/index.ts";
import { addressRefusal, nameRefusal } from "../../runtime-container/src/sandbox/network/egress-match.ts";
import { parseHostMap, resolveTarget } from "../../runtime-container/src/sandbox/network/egress-target.ts";
import { proxyRuleset } from "../../runtime-container/src/sandbox/network/proxy-rules.ts";

// The egress proxy's decisions (runtime-container/src/sandbox/network/egress-*.ts), without a network: names,
// addresses and the ruleset. The proxy itself is tested for real in test/runtime/egress.test.ts and security X30.
const POLICY = NetworkPolicySchema.parse({ allow: ["pypi.org", "*.example.com", "203.0.113.0/24", "10.1.0.0/16", "localhost"], deny: ["bad.example.com", "203.0.113.9"] });

describe("egress policy matching", () => {
  it("allows names and wildcards, deny wins, and a wildcard is not its own base name", () => {
    expect(nameRefusal(POLICY, "pypi.org")).toBeNull();
    expect(nameRefusal(POLICY, "a.b.example.com")).toBeNull();
    expect(nameRefusal(POLICY, "example.com")).toMatch(/not in this thread's network policy/);
    expect(nameRefusal(POLICY, "xexample.com")).toMatch(/not in/);
    expect(nameRefusal(POLICY, "bad.example.com")).toMatch(/is denied/);
    expect(nameRefusal(POLICY, "pypi.org.evil.net")).toMatch(/not in/);
  });

  it("refuses loopback always, addresses not in an allowed range, and private names' addresses unless allowed", () => {
    for (const a of ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "0.0.0.0"]) expect(addressRefusal(POLICY, a, null)).toMatch(/loopback/);
    expect(addressRefusal(POLICY, "127.0.0.1", "localhost")).toMatch(/loopback/);
    expect(addressRefusal(POLICY, "203.0.113.7", null)).toBeNull();
    expect(addressRefusal(POLICY, "203.0.113.9", null)).toMatch(/denied/);
    expect(addressRefusal(POLICY, "198.51.100.1", null)).toMatch(/direct connections to addresses are refused/);
    expect(addressRefusal(POLICY, "169.254.169.254", "metadata.example.com")).toMatch(/private, link-local or host/);
    expect(addressRefusal(POLICY, "10.2.0.1", "intra.example.com")).toMatch(/private/);
    expect(addressRefusal(POLICY, "10.1.2.3", "intra.example.com")).toBeNull();
    expect(addressRefusal(POLICY, "198.51.100.1", "pypi.org")).toBeNull();
  });

  it("resolves names the operator mapped without a lookup, after the policy allowed them", async () => {
    const hosts = parseHostMap("mirror.example.com=127.0.0.1");
    if ("bad" in hosts) throw new Error("unparsed");
    expect(await resolveTarget(POLICY, "Mirror.Example.COM.", 80, hosts)).toEqual({ ok: true, host: "mirror.example.com", address: "127.0.0.1", port: 80 });
    expect(await resolveTarget(POLICY, "bad.example.com", 80, hosts)).toMatchObject({ ok: false, status: 403 });
    expect(await resolveTarget(POLICY, "localhost", 80, new Map())).toMatchObject({ ok: false, reason: expect.stringMatching(/loopback/) });
    expect(await resolveTarget(POLICY, "a b", 80, hosts)).toMatchObject({ ok: false, reason: expect.stringMatching(/not a host name/) });
    expect(await resolveTarget(POLICY, "pypi.org", 0, hosts)).toMatchObject({ ok: false });
    expect(parseHostMap("x=notanip,=1.2.3.4")).toEqual({ bad: ["x=notanip", "=1.2.3.4"] });
  });

  it("lets the namespace out to its proxy's port only", () => {
    const rules = proxyRuleset(41234);
    expect(rules).toContain("ip daddr 10.0.2.2 tcp dport 3128 dnat to 10.0.2.2:41234");
    expect(rules).toContain("ip daddr 10.0.2.2 tcp dport 41234 accept");
    expect(rules).toMatch(/reject with icmpx type admin-prohibited\n {2}}\n}\n$/);
    expect(rules).not.toContain("dport 53");
  });
});

describe("sealed secrets", () => {
  const secrets = [{ host: "api.example.com", header: "Authorization", value: "Bearer s3cret" }];
  it("open for their own thread under their own key only, and a tampered blob does not open", async () => {
    const sealed = await sealSecrets("k".repeat(32), "acme/t1", secrets);
    expect(sealed).not.toContain("s3cret");
    expect(await openSecrets("k".repeat(32), "acme/t1", sealed)).toEqual(secrets);
    expect(await openSecrets("k".repeat(32), "acme/t2", sealed)).toBeNull();
    expect(await openSecrets("j".repeat(32), "acme/t1", sealed)).toBeNull();
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === "A" ? "B" : "A") + sealed.at(-1);
    expect(await openSecrets("k".repeat(32), "acme/t1", flipped)).toBeNull();
    expect(await openSecrets("k".repeat(32), "acme/t1", "v1.!!")).toBeNull();
    expect(await sealSecrets("k".repeat(32), "acme/t1", secrets)).not.toBe(sealed);
  });

  it("are shown as host and header only", () => {
    expect(policyView({ allow: ["a.com"], secrets })).toEqual({ allow: ["a.com"], secrets: [{ host: "api.example.com", header: "Authorization" }] });
  });
});
