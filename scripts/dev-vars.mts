/**
 * The local stack's secrets, from .dev.vars (written by scripts/setup.sh: random per checkout, mode 600, ignored by
 * git). HMAC_SECRET in the environment wins, so a developer can point the scripts at a runtime of their own.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KNOWN_BAD_DEV_SECRET } from "../shared/src/index.ts";

const DEV_VARS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.dev.vars");

function readDevVar(name: string): string | undefined {
  if (!existsSync(DEV_VARS)) return undefined;
  for (const line of readFileSync(DEV_VARS, "utf8").split("\n")) {
    const at = line.indexOf("=");
    if (at > 0 && line.slice(0, at).trim() === name) return line.slice(at + 1).trim();
  }
  return undefined;
}

/** The HMAC secret the local worker and runtime share; exits with the fix when there is none. */
export function devHmacSecret(): string {
  const secret = process.env.HMAC_SECRET || readDevVar("HMAC_SECRET");
  if (!secret || secret === KNOWN_BAD_DEV_SECRET) {
    process.stderr.write("no per-checkout HMAC_SECRET in .dev.vars: run `npm run setup` (it makes a random one)\n");
    process.exit(2);
  }
  return secret;
}
