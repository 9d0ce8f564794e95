import { existsSync, lstatSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecResultSchema, type RuntimeHealth } from "../../shared/src/index.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

/*
 * The per-tenant package cache cap (quota/cache-upkeep.ts) through a real runtime, under proot and bwrap: the sandbox
 * fills its tenant's cache (/.pip-cache) over TENANT_CACHE_MB with entries of known ages and plants links to host
 * files and directories and a FIFO among them; the sweep brings the cache under the cap, least recently used first,
 * keeps the newest entry, and removes the planted entries without following them or blocking on the FIFO.
 */
const KIB = 1024;

/** pip-like entries, oldest first (their times are set in the past), then one used now; hostile entries older still. */
const fill = (host: string) => `
set -e
cd /.pip-cache
entry() { mkdir -p "http-v2/$1/a/b/c/d"; head -c 262144 /dev/zero > "http-v2/$1/a/b/c/d/resp"; head -c 4096 /dev/zero > "http-v2/$1/a/b/c/d/resp.body"; touch -d "$2" "http-v2/$1/a/b/c/d/resp" "http-v2/$1/a/b/c/d/resp.body"; }
entry old1 "2020-01-01"; entry old2 "2020-01-02"; entry old3 "2020-01-03"; entry old4 "2020-01-04"
mkdir -p http-v2/new/a/b/c/d; head -c 393216 /dev/zero > http-v2/new/a/b/c/d/resp
mkdir -p wheels/x/y/z bun-evil http-v2/fifo/a/b/c/d
ln -s ${host}/secret.txt wheels/x/y/z/link; touch -h -d 2019-01-01 wheels/x/y/z/link
ln -s ${host}/dir bun-evil/pkg; touch -h -d 2019-01-01 bun-evil/pkg
mkfifo http-v2/fifo/a/b/c/d/pipe; touch -d 2019-01-01 http-v2/fifo/a/b/c/d/pipe
echo filled
`;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p, `${rel}${name}/`);
      else out.push(`${rel}${name}`);
    }
  };
  if (existsSync(dir)) walk(dir, "");
  return out.sort();
}

for (const isolation of ["proot", "bwrap"] as const) {
  describe(`tenant package cache cap (${isolation})`, () => {
    let rt: RuntimeProcess;
    let host: string;

    beforeAll(async () => {
      rt = await startRuntime({ ISOLATION: isolation, TENANT_CACHE_MB: "1", UPKEEP_INTERVAL_S: "1" });
      host = path.join(rt.root, "host-owned");
      await mkdir(path.join(host, "dir"), { recursive: true });
      await writeFile(path.join(host, "secret.txt"), "root's file\n");
      await writeFile(path.join(host, "dir", "keep.txt"), "root's other file\n");
    });
    afterAll(async () => {
      await rt?.stop();
    });

    it("shrinks a cache over the cap to under it, newest kept, planted links and FIFOs removed but not followed", async () => {
      await rt.json("POST", "/threads/acme/cache1", {});
      const res = await rt.json("POST", "/threads/acme/cache1/exec", { command: "bash -s", stdin: fill(host), timeout: 60 });
      const result = ExecResultSchema.parse(res);
      expect(result, JSON.stringify(result)).toMatchObject({ exit_code: 0, stdout: "filled\n" });

      const cache = path.join(rt.root, "state", "pip-cache", "acme");
      // The sweep runs every second while nothing of the tenant runs; bounded wait for the one that trims.
      let health: RuntimeHealth | null = null;
      for (let i = 0; i < 300; i++) {
        health = await rt.json<RuntimeHealth>("GET", "/health");
        if ((health.caches?.tenants.acme?.evicted_entries ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const report = health?.caches?.tenants.acme;
      expect(report, JSON.stringify(health?.caches)).toBeDefined();
      expect(health?.caches?.cap_bytes).toBe(1024 * KIB);

      const left = filesUnder(cache);
      // Oldest first: the planted entries (2019) and the oldest responses went; the newest response stayed.
      expect(left).toContain("http-v2/new/a/b/c/d/resp");
      expect(left).not.toContain("http-v2/old1/a/b/c/d/resp");
      expect(left).not.toContain("http-v2/old1/a/b/c/d/resp.body");
      expect(left).not.toContain("wheels/x/y/z/link");
      expect(left).not.toContain("bun-evil/pkg");
      expect(left).not.toContain("http-v2/fifo/a/b/c/d/pipe");
      // A response and its body go together.
      for (const name of left.filter((n) => n.endsWith("/resp"))) expect(left).toContain(name === "http-v2/new/a/b/c/d/resp" ? name : `${name}.body`);
      const bytes = left.reduce((sum, n) => sum + lstatSync(path.join(cache, n)).blocks * 512, 0);
      expect(bytes).toBeLessThanOrEqual(1024 * KIB);
      expect(bytes).toBeGreaterThan(0);

      // What the links pointed at is untouched.
      expect(readFileSync(path.join(host, "secret.txt"), "utf8")).toBe("root's file\n");
      expect(readFileSync(path.join(host, "dir", "keep.txt"), "utf8")).toBe("root's other file\n");
    });

    it("leaves a tenant's cache alone while a run of the tenant lives, and trims it once the run has ended", async () => {
      await rt.json("POST", "/threads/beta/cache2", {});
      // Over the cap from its first line, then looks for its entry 40 times over 4 s (several sweeps).
      const script = `
set -e
mkdir -p /.pip-cache/wheels/a/b/c/d
head -c 2097152 /dev/zero > /.pip-cache/wheels/a/b/c/d/big.whl
touch -d 2020-01-01 /.pip-cache/wheels/a/b/c/d/big.whl
for i in $(seq 40); do sleep 0.1; test -f /.pip-cache/wheels/a/b/c/d/big.whl || { echo "evicted during the run"; exit 3; }; done
echo kept`;
      const result = ExecResultSchema.parse(await rt.json("POST", "/threads/beta/cache2/exec", { command: "bash -s", stdin: script, timeout: 60 }));
      expect(result, JSON.stringify(result)).toMatchObject({ exit_code: 0, stdout: "kept\n" });
      const entry = path.join(rt.root, "state", "pip-cache", "beta", "wheels", "a", "b", "c", "d", "big.whl");
      for (let i = 0; i < 300 && existsSync(entry); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(entry)).toBe(false);
    });
  });
}
