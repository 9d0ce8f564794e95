/**
 * `npm run keys -- <command>`: API keys for the worker's `API_KEYS` secret, a JSON object mapping the lowercase hex
 * SHA-256 of each key to its tenant (worker/src/auth/api-keys.ts). The key itself is printed once by `create` and
 * stored nowhere.
 *
 *   create --tenant NAME [--file FILE|-] [--json]    a new key, its API_KEYS entry (and the whole list with it, given one)
 *   list [--file FILE|-] [--json]                    the tenants and key hashes of a list
 *   revoke (--hash HEX | --key KEY | --tenant NAME) [--file FILE|-]   the list without those entries
 *
 * A list is read from --file FILE, from standard input with `--file -`, or else from the API_KEYS environment variable.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { TenantIdSchema, sha256Hex } from "../shared/src/index.ts";

const ApiKeysSchema = z.record(z.string().regex(/^[0-9a-f]{64}$/, "each name must be the lowercase hex SHA-256 of a key"), TenantIdSchema);
type ApiKeys = z.infer<typeof ApiKeysSchema>;

class UsageError extends Error {}

/** 32 random bytes, base64url: no dots (a key with two dots would be taken for a token), 256 bits of entropy. */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `tbx_${Buffer.from(bytes).toString("base64url")}`;
}

function readList(source: string | undefined, required: boolean): ApiKeys | undefined {
  let raw: string | undefined;
  if (source === "-") raw = readFileSync(0, "utf8");
  else if (source !== undefined) raw = readFileSync(source, "utf8");
  else raw = process.env.API_KEYS;
  if (raw === undefined || raw.trim() === "") {
    if (required) throw new UsageError("no API_KEYS list: give --file FILE, --file - (standard input) or set API_KEYS");
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new UsageError("the API_KEYS list is not valid JSON");
  }
  const badName = typeof json === "object" && json !== null ? Object.keys(json).find((k) => !/^[0-9a-f]{64}$/.test(k)) : undefined;
  if (badName !== undefined) throw new UsageError(`the API_KEYS list is invalid: "${badName}" is not the lowercase hex SHA-256 of a key`);
  const parsed = ApiKeysSchema.safeParse(json);
  if (!parsed.success) throw new UsageError(`the API_KEYS list is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

const out = (text: string) => process.stdout.write(`${text}\n`);
const note = (text: string) => process.stderr.write(`${text}\n`);

async function create(values: Record<string, string | boolean | undefined>): Promise<void> {
  const tenant = TenantIdSchema.safeParse(values.tenant);
  if (!tenant.success) throw new UsageError("create needs --tenant NAME (1-64 of A-Z a-z 0-9 _ -)");
  // Only an explicitly given list is merged: the environment's may not be the one meant.
  const list = values.file === undefined ? undefined : readList(values.file as string, true);
  const key = newKey();
  const hash = await sha256Hex(key);
  const merged = list ? { ...list, [hash]: tenant.data } : undefined;
  if (values.json) {
    out(JSON.stringify({ key, hash, tenant: tenant.data, ...(merged ? { api_keys: merged } : {}) }));
    return;
  }
  out(`API key for tenant "${tenant.data}" (shown once, store it now):\n  ${key}`);
  out(`API_KEYS entry:\n  ${JSON.stringify({ [hash]: tenant.data })}`);
  if (merged) out(`API_KEYS with it:\n  ${JSON.stringify(merged)}`);
  else out('Add the entry to the API_KEYS JSON object (e.g. `wrangler secret put API_KEYS`), or pass --file FILE to print the merged list.');
}

function list(values: Record<string, string | boolean | undefined>): void {
  const keys = readList(values.file as string | undefined, true) ?? {};
  const rows = Object.entries(keys).map(([hash, tenant]) => ({ tenant, hash }));
  if (values.json) return out(JSON.stringify(rows));
  if (rows.length === 0) return out("(no keys)");
  const width = Math.max(6, ...rows.map((r) => r.tenant.length));
  out(`${"tenant".padEnd(width)}  sha-256 of the key`);
  for (const r of rows.sort((a, b) => a.tenant.localeCompare(b.tenant))) out(`${r.tenant.padEnd(width)}  ${r.hash}`);
}

async function revoke(values: Record<string, string | boolean | undefined>): Promise<void> {
  const chosen = ["hash", "key", "tenant"].filter((k) => values[k] !== undefined);
  if (chosen.length !== 1) throw new UsageError("revoke needs exactly one of --hash HEX, --key KEY, --tenant NAME");
  const keys = readList(values.file as string | undefined, true) ?? {};
  const hash = values.key !== undefined ? await sha256Hex(values.key as string) : (values.hash as string | undefined)?.toLowerCase();
  const kept = Object.fromEntries(Object.entries(keys).filter(([h, t]) => (hash !== undefined ? h !== hash : t !== values.tenant)));
  const removed = Object.keys(keys).length - Object.keys(kept).length;
  if (removed === 0) throw new UsageError(`no entry matches --${chosen[0]}; the list is unchanged`);
  note(`removed ${removed} entr${removed === 1 ? "y" : "ies"}; tokens minted with a removed key stop working too`);
  out(JSON.stringify(kept));
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: "string" },
      file: { type: "string" },
      hash: { type: "string" },
      key: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const [command, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  if (command === "create") return create(values);
  if (command === "list") return list(values);
  if (command === "revoke") return revoke(values);
  throw new UsageError("usage: npm run keys -- create --tenant NAME | list | revoke (--hash HEX | --key KEY | --tenant NAME) [--file FILE|-]");
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  // parseArgs throws TypeErrors for unknown options: those are usage errors too.
  const usage = err instanceof UsageError || (err instanceof TypeError && "code" in err);
  note(usage ? `keys: ${(err as Error).message}` : String(err));
  process.exitCode = usage ? 2 : 1;
}
