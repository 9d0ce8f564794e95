import { randomBytes } from "node:crypto";

/** FamilyWild: the entry matches any host and (with an empty number) any display number. */
const FAMILY_WILD = 0xffff;

function counted(data: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(data.length);
  return Buffer.concat([len, data]);
}

/**
 * An Xauthority file with one MIT-MAGIC-COOKIE-1 entry, in the format libXau reads: Xvfb loads it with `-auth` (it
 * then refuses clients without the cookie, which matters because its abstract socket is reachable from every
 * sandbox on the host), and the thread's X clients find it through XAUTHORITY.
 */
export function xauthority(cookie: Buffer): Buffer {
  const family = Buffer.alloc(2);
  family.writeUInt16BE(FAMILY_WILD);
  const fields = [Buffer.alloc(0), Buffer.alloc(0), Buffer.from("MIT-MAGIC-COOKIE-1"), cookie];
  return Buffer.concat([family, ...fields.map(counted)]);
}

export const newCookie = (): Buffer => randomBytes(16);
