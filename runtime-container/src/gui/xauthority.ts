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
 * then refuses clients without the cookie), and the thread's X clients find it through XAUTHORITY. The display's
 * abstract socket lives in the thread's own network namespace, out of other threads' reach; the cookie still
 * matters where a thread has no namespace of its own (a degraded runtime shares the host's: every sandbox there
 * could connect), and for host processes that reach its socket file in the host's /tmp/.X11-unix.
 */
export function xauthority(cookie: Buffer): Buffer {
  const family = Buffer.alloc(2);
  family.writeUInt16BE(FAMILY_WILD);
  const fields = [Buffer.alloc(0), Buffer.alloc(0), Buffer.from("MIT-MAGIC-COOKIE-1"), cookie];
  return Buffer.concat([family, ...fields.map(counted)]);
}

export const newCookie = (): Buffer => randomBytes(16);
