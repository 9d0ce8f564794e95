import { isIP } from "node:net";

/** An address or range, `ADDRESS[/PREFIX]`, as nft reads it (nft clears the host bits of a prefix itself). */
export interface Cidr {
  family: 4 | 6;
  text: string;
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
