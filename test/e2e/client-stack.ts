import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { Threadbox, type ThreadboxOptions } from "../../client/src/index.ts";
import { type Stack, startStack } from "./stack.ts";

/**
 * The stack for the SDK's end-to-end tests, with its API keys made by `npm run keys` (scripts/keys.mts), so every
 * request of these tests also checks that a key the script prints is one the worker accepts.
 */
export const REPO = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

export interface ClientStack {
  stack: Stack;
  url: string;
  /** Tenant name → its API key, as `npm run keys -- create` printed it. */
  keys: Record<string, string>;
  /** A client with the first tenant's key (and fast resume back-off). */
  client(opts?: Partial<ThreadboxOptions>): Threadbox;
}

async function makeKeys(tenants: string[]): Promise<{ keys: Record<string, string>; apiKeys: string }> {
  const keys: Record<string, string> = {};
  let list: Record<string, string> = {};
  for (const tenant of tenants) {
    const child = run(process.execPath, ["--import", "tsx", "scripts/keys.mts", "create", "--tenant", tenant, "--file", "-", "--json"], { cwd: REPO });
    child.child.stdin?.end(JSON.stringify(list));
    const made = JSON.parse((await child).stdout) as { key: string; api_keys: Record<string, string> };
    keys[tenant] = made.key;
    list = made.api_keys;
  }
  return { keys, apiKeys: JSON.stringify(list) };
}

export async function startClientStack(opts: { runtime?: Record<string, string>; worker?: Record<string, string> } = {}): Promise<ClientStack> {
  const { keys, apiKeys } = await makeKeys(["sdk", "sdk-other"]);
  const stack = await startStack({ ...opts, worker: { API_KEYS: apiKeys, ...opts.worker } });
  return {
    stack,
    url: stack.worker.url,
    keys,
    client: (o = {}) =>
      new Threadbox({
        baseUrl: stack.worker.url,
        ...(o.token === undefined ? { apiKey: keys.sdk as string } : {}),
        resume: { baseDelayMs: 50, maxDelayMs: 500 },
        ...o,
      }),
  };
}
