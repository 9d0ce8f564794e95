import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// scripts/keys.mts as a developer runs it (`npm run keys -- …`): a real process, real files, stdin and environment.

const ROOT = path.resolve(import.meta.dirname, "../..");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tbx-keys-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function keys(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, API_KEYS: "", ...opts.env };
    const child = execFile(process.execPath, ["--import", "tsx", "scripts/keys.mts", ...args], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(opts.stdin ?? "");
  });
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const HASH_A = "a".repeat(64);
const HASH_B = "b".repeat(64);

// Each case starts a process (tsx): allow for a busy machine.
describe("npm run keys", { timeout: 120_000 }, () => {
  it("create prints a new key once and the API_KEYS entry: the key's lowercase hex SHA-256 → tenant, no dots", async () => {
    const { code, stdout } = await keys(["create", "--tenant", "acme"]);
    expect(code).toBe(0);
    const key = /^\s+(tbx_\S+)$/m.exec(stdout)?.[1] ?? "";
    expect(key).toMatch(/^tbx_[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain(".");
    expect(stdout).toContain(JSON.stringify({ [sha256(key)]: "acme" }));

    const again = JSON.parse((await keys(["create", "--tenant", "acme", "--json"])).stdout) as { key: string; hash: string; tenant: string };
    expect(again.hash).toBe(sha256(again.key));
    expect(again.key).not.toBe(key);
    expect(again.tenant).toBe("acme");
  });

  it("create --file merges the new entry into an existing list", async () => {
    const file = path.join(dir, "merge.json");
    await writeFile(file, JSON.stringify({ [HASH_A]: "old" }));
    const made = JSON.parse((await keys(["create", "--tenant", "new", "--file", file, "--json"])).stdout) as { hash: string; api_keys: Record<string, string> };
    expect(made.api_keys).toEqual({ [HASH_A]: "old", [made.hash]: "new" });
  });

  it("list shows tenants and key hashes from a file, standard input or the environment", async () => {
    const list = JSON.stringify({ [HASH_A]: "zeta", [HASH_B]: "alpha" });
    const file = path.join(dir, "list.json");
    await writeFile(file, list);
    for (const run of [keys(["list", "--file", file]), keys(["list", "--file", "-"], { stdin: list }), keys(["list"], { env: { API_KEYS: list } })]) {
      const { code, stdout } = await run;
      expect(code).toBe(0);
      expect(stdout.trim().split("\n").slice(1).map((line) => line.split(/\s+/))).toEqual([["alpha", HASH_B], ["zeta", HASH_A]]);
    }
    expect(JSON.parse((await keys(["list", "--json"], { env: { API_KEYS: list } })).stdout)).toEqual([
      { tenant: "zeta", hash: HASH_A },
      { tenant: "alpha", hash: HASH_B },
    ]);
  });

  it("revoke prints the list without the entry, chosen by hash, key or tenant", async () => {
    const key = "tbx_some-key";
    const list = JSON.stringify({ [HASH_A]: "acme", [HASH_B]: "acme", [sha256(key)]: "other" });
    const run = async (args: string[]) => JSON.parse((await keys(["revoke", ...args, "--file", "-"], { stdin: list })).stdout) as Record<string, string>;
    expect(await run(["--hash", HASH_A.toUpperCase()])).toEqual({ [HASH_B]: "acme", [sha256(key)]: "other" });
    expect(await run(["--key", key])).toEqual({ [HASH_A]: "acme", [HASH_B]: "acme" });
    expect(await run(["--tenant", "acme"])).toEqual({ [sha256(key)]: "other" });
  });

  it("refuses with exit code 2 and a message: no match, bad list, missing or bad arguments", async () => {
    const list = JSON.stringify({ [HASH_A]: "acme" });
    const cases: [string[], string | undefined, RegExp][] = [
      [["revoke", "--key", "nope", "--file", "-"], list, /no entry matches/],
      [["revoke", "--file", "-"], list, /exactly one of/],
      [["list", "--file", "-"], "{not json", /not valid JSON/],
      [["list", "--file", "-"], JSON.stringify({ ABC: "acme" }), /lowercase hex SHA-256/],
      [["list"], undefined, /no API_KEYS list/],
      [["create"], undefined, /--tenant NAME/],
      [["create", "--tenant", "a/b"], undefined, /--tenant NAME/],
      [["frob"], undefined, /usage/],
      [["list", "--frob"], undefined, /Unknown option/],
    ];
    const runs = await Promise.all(cases.map(([args, stdin]) => keys(args, stdin === undefined ? {} : { stdin })));
    for (const [i, [args, , message]] of cases.entries()) {
      const { code, stdout, stderr } = runs[i] as { code: number; stdout: string; stderr: string };
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(stderr).toMatch(message);
      expect(stdout).toBe("");
    }
  });
});
