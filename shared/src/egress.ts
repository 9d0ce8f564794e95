import { z } from "zod";

/** A host name (lower case), `*.` + a name (any name below it, not the name itself), or an address range. */
const NAME = /^(?:\*\.)?(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\/(?:3[0-2]|[12]?\d))?$/;
const IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*(?:\/(?:12[0-8]|1[01]\d|[1-9]?\d))?$/;

/** `pypi.org`, `*.githubusercontent.com` or `10.0.0.0/8` (CIDR entries only match direct address connections). */
export const EgressRuleSchema = z
  .string()
  .trim()
  .toLowerCase()
  .refine((s) => NAME.test(s) || IPV4.test(s) || IPV6.test(s), {
    message: 'a host name ("pypi.org"), a wildcard ("*.example.com") or an address range ("10.0.0.0/8")',
  });

/** A header the egress proxy adds to the thread's requests to `host` (see README "Egress policy"). */
export const EgressSecretSchema = z.strictObject({
  host: z.string().trim().toLowerCase().regex(NAME).refine((h) => !h.startsWith("*."), "one exact host name"),
  /** An HTTP header name (a token); Host, Proxy-* and hop-by-hop headers are not allowed. */
  header: z
    .string()
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/)
    .refine((h) => !/^(host|proxy-.*|connection|keep-alive|te|trailer|transfer-encoding|upgrade|content-length)$/i.test(h), "not a header the proxy may set"),
  /** The secret: visible to the proxy only, never to the sandbox. No CR, LF or NUL. */
  value: z.string().min(1).max(4096).regex(/^[^\r\n\0]*$/),
});
export type EgressSecret = z.infer<typeof EgressSecretSchema>;

/** What the public API says of a secret: where it goes, never what it is. */
export type EgressSecretRef = Omit<EgressSecret, "value">;

/**
 * `network` as a policy: the sandbox reaches the outside only through the runtime's egress proxy, which lets through
 * requests to allowed hosts (deny wins) and adds the secrets' headers. No DNS inside the sandbox.
 */
export const NetworkPolicySchema = z.strictObject({
  allow: z.array(EgressRuleSchema).min(1).max(100),
  deny: z.array(EgressRuleSchema).max(100).optional(),
  secrets: z
    .array(EgressSecretSchema)
    .max(10)
    .refine((list) => new Set(list.map((s) => `${s.host} ${s.header.toLowerCase()}`)).size === list.length, "one secret per host and header")
    // They travel sealed in one header of each runtime call (egress-seal.ts): a few KiB in all.
    .refine((list) => JSON.stringify(list).length <= 6000, "the secrets together are at most 6000 characters")
    .optional(),
});
export type NetworkPolicy = z.infer<typeof NetworkPolicySchema>;

/** The policy as the runtime keeps it on disk and the API shows it: secrets named, not given. */
export const NetworkPolicyViewSchema = NetworkPolicySchema.extend({
  secrets: z.array(EgressSecretSchema.omit({ value: true })).max(10).optional(),
});
export type NetworkPolicyView = z.infer<typeof NetworkPolicyViewSchema>;

/** The policy without its secrets' values. */
export function policyView(policy: NetworkPolicy): NetworkPolicyView {
  const { secrets, ...rest } = policy;
  return secrets ? { ...rest, secrets: secrets.map(({ host, header }) => ({ host, header })) } : rest;
}
