import { z } from "zod";
import { AppError, ErrorCode, TenantIdSchema, sha256Hex } from "../../../shared/src/index.ts";

/**
 * API keys: the `API_KEYS` secret maps the lowercase hex SHA-256 of each key to its tenant id, so a leaked
 * configuration never reveals a usable key. A presented key is hashed and compared with every entry.
 */
export type ApiKeyEntry = { readonly hash: Uint8Array; readonly tenant: string; readonly keyId: string };
export type ApiKeyTable = readonly ApiKeyEntry[];

const DIGEST_BYTES = 32;
/** A key's id in the tokens it mints: the first 64 bits of its SHA-256 (enough to tell keys apart; reveals nothing). */
const KEY_ID_CHARS = 16;

export function keyIdOf(hashHex: string): string {
  return hashHex.slice(0, KEY_ID_CHARS);
}

const ApiKeysSchema = z.record(
  z.string().regex(/^[0-9a-f]{64}$/, "each key must be the lowercase hex SHA-256 of an API key"),
  TenantIdSchema,
);

// One environment per isolate, so one cached entry is enough; a changed secret simply replaces it.
let cached: { raw: string; table: ApiKeyTable } | undefined;

function misconfigured(why: string): AppError {
  // Names the setting and the expected shape, never the value: the table is still a secret.
  return new AppError(
    ErrorCode.INTERNAL_ERROR,
    `Server misconfigured: API_KEYS ${why}; expected a JSON object {"<sha-256 hex of key>": "<tenant id>"}.`,
  );
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** Parses and validates the `API_KEYS` secret once per distinct value. An empty object is allowed (no keys). */
export function parseApiKeys(raw: string): ApiKeyTable {
  if (cached?.raw === raw) return cached.table;
  if (typeof raw !== "string" || raw.trim() === "") throw misconfigured("is not set");
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw misconfigured("is not valid JSON");
  }
  const parsed = ApiKeysSchema.safeParse(json);
  if (!parsed.success) throw misconfigured("has an invalid entry");
  const table = Object.entries(parsed.data).map(([hash, tenant]) => ({ hash: fromHex(hash), tenant, keyId: keyIdOf(hash) }));
  cached = { raw, table };
  return table;
}

/**
 * The tenant owning `key` and the key's id (its SHA-256 hex, as listed in API_KEYS), or null. Every entry is
 * compared over all its bytes with no early exit, so the time taken says nothing about which entry, or how much
 * of a hash, matched.
 */
export async function lookupKey(table: ApiKeyTable, key: string): Promise<{ tenant: string; id: string } | null> {
  if (key === "") return null;
  const id = await sha256Hex(key);
  const presented = fromHex(id);
  let tenant: string | null = null;
  for (const entry of table) {
    let diff = entry.hash.length ^ DIGEST_BYTES;
    for (let i = 0; i < DIGEST_BYTES; i++) diff |= (entry.hash[i] ?? 0) ^ (presented[i] ?? 0);
    // Keep the first match; later entries are still compared so the loop always does the same work.
    if (diff === 0 && tenant === null) tenant = entry.tenant;
  }
  return tenant === null ? null : { tenant, id };
}

/**
 * Whether the key with this id still belongs to `tenant`: a token minted by a key since removed from API_KEYS (or
 * moved to another tenant) stops working with it.
 */
export function keyStillListed(table: ApiKeyTable, tenant: string, keyId: string): boolean {
  return table.some((entry) => entry.keyId === keyId && entry.tenant === tenant);
}

/** The tenant owning `key`, or null (see lookupKey). */
export async function tenantForKey(table: ApiKeyTable, key: string): Promise<string | null> {
  return (await lookupKey(table, key))?.tenant ?? null;
}
