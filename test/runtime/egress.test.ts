import { randomBytes } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EGRESS_SECRETS_HEADER, type ExecResult, InstallResultSchema, sealSecrets } from "../../shared/src/index.ts";
import { newThread } from "./context-client.ts";
import { type Upstream, makeCertificate, removeCertificate, startHttpUpstream, startHttpsUpstream } from "./egress-upstream.ts";
import { TEST_SECRET, type RuntimeProcess, startRuntime } from "./harness.ts";
import { CONNECT, DIRECT, FETCH, SEARCH } from "./egress-programs.ts";
import { type PackageIndex, startPackageIndex } from "./package-index.ts";

// Issue 20: `network: {allow, deny, secrets}`. The sandbox reaches the outside only through its thread's egress
// proxy; the test names (*.test) are mapped to this machine's loopback by EGRESS_HOSTS, so nothing leaves it.

async function hostFilesHolding(dir: string, needle: Buffer, budget = { files: 20_000 }): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (budget.files-- <= 0) break;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) hits.push(...(await hostFilesHolding(p, needle, budget)));
    else if (entry.isFile() && (await readFile(p).catch(() => Buffer.alloc(0))).includes(needle)) hits.push(p);
  }
  return hits;
}

describe.each(["proot", "bwrap"] as const)("a thread's egress policy under %s", (backend) => {
  let rt: RuntimeProcess;
  let plain: Upstream;
  let secure: Upstream;
  let index: PackageIndex;
  let certDir: string;
  const secret = `tbx-${randomBytes(16).toString("hex")}`;
  const thread = newThread("egress");
  const exec = (command: string) => rt.json<ExecResult>("POST", `/threads/acme/${thread}/exec`, { command, timeout: 60 });

  beforeAll(async () => {
    const tls = makeCertificate("api.test");
    certDir = tls.dir;
    [plain, secure, index] = await Promise.all([startHttpUpstream(), startHttpsUpstream(tls), startPackageIndex([{ name: "tbx-egress", version: "1.0" }])]);
    const indexPort = new URL(index.url).port;
    rt = await startRuntime({
      ISOLATION: backend,
      EGRESS_HOSTS: ["allowed.test", "sub.allowed.test", "denied.test", "api.test", "wheels.test"].map((n) => `${n}=127.0.0.1`).join(","),
      EGRESS_CA_FILE: tls.caFile,
      PIP_INDEX_URL: `http://wheels.test:${indexPort}/simple/`,
    });
    const network = { allow: ["allowed.test", "*.allowed.test", "denied.test", "api.test", "wheels.test"], deny: ["denied.test"], secrets: [{ host: "api.test", header: "authorization" }] };
    const sealed = await sealSecrets(TEST_SECRET, `acme/${thread}`, [{ host: "api.test", header: "authorization", value: `Bearer ${secret}` }]);
    const res = await rt.call("POST", `/threads/acme/${thread}`, { body: { network }, headers: { [EGRESS_SECRETS_HEADER]: sealed } });
    expect(res.status).toBe(200);
    const shown = JSON.stringify(await res.json());
    expect(shown).not.toContain(secret);
    expect(shown).toContain('"secrets":[{"host":"api.test","header":"authorization"}]');
  }, 120_000);
  afterAll(async () => {
    await rt?.stop();
    await Promise.all([plain?.close(), secure?.close(), index?.stop()]);
    if (certDir) removeCertificate(certDir);
  });

  it("reaches an allowed host (and a wildcard's) through the proxy, plain HTTP and CONNECT", async () => {
    const r = await exec(FETCH(`http://allowed.test:${plain.port}/a?b=1`));
    expect(r.stdout, r.stderr).toBe(`200 upstream says hi to /a?b=1\n`);
    expect(plain.seen.at(-1)?.headers.host).toBe(`allowed.test:${plain.port}`);
    const sub = await exec(FETCH(`http://sub.allowed.test:${plain.port}/sub`));
    expect(sub.stdout).toBe(`200 upstream says hi to /sub\n`);
    const tunnel = await exec(CONNECT(`allowed.test:${plain.port}`));
    expect(tunnel.stdout, tunnel.stderr).toBe("HTTP/1.1 200 Connection Established\nupstream says hi to /tunnel\n");
  });

  it("refuses a denied host, a host not allowed and an address, with a 403 that says why", async () => {
    const before = plain.seen.length;
    const denied = await exec(FETCH(`http://denied.test:${plain.port}/`));
    expect(denied.stdout).toMatch(/^403 threadbox egress proxy: refused: denied\.test is denied by this thread's network policy/);
    const other = await exec(FETCH(`http://elsewhere.test:${plain.port}/`));
    expect(other.stdout).toMatch(/^403 .*elsewhere\.test is not in this thread's network policy \(allow: allowed\.test/);
    const ip = await exec(CONNECT(`127.0.0.1:${plain.port}`));
    expect(ip.stdout).toMatch(/^HTTP\/1\.1 403 Forbidden\n.*loopback address/);
    const tunnelDenied = await exec(CONNECT(`denied.test:${plain.port}`));
    expect(tunnelDenied.stdout).toMatch(/^HTTP\/1\.1 403 Forbidden\n.*denied/);
    expect(plain.seen.length).toBe(before);
    // Allowed, but nothing listens there: the proxy says so (502), whether tunnelled or not.
    const closed = await exec(CONNECT("allowed.test:1"));
    expect(closed.stdout).toMatch(/^HTTP\/1\.1 502 Bad Gateway\n.*allowed\.test:1: connect ECONNREFUSED/);
    expect((await exec(FETCH("http://allowed.test:1/"))).stdout).toMatch(/^502 threadbox egress proxy: failed: allowed\.test: connect ECONNREFUSED/);
  });

  it("has no way out but the proxy: direct connections and the host's other loopback ports fail", async () => {
    const direct = await exec(DIRECT("127.0.0.1", plain.port));
    expect(direct.exit_code).not.toBe(0);
    const gateway = await exec(DIRECT("10.0.2.2", plain.port));
    expect(gateway.exit_code).not.toBe(0);
    expect(gateway.stderr).toMatch(/Connection refused|reset/);
    const runtimePort = Number(new URL(rt.url).port);
    expect((await exec(DIRECT("10.0.2.2", runtimePort))).exit_code).not.toBe(0);
  });

  it("adds the secret's header upstream (over verified TLS) and the sandbox never sees it", async () => {
    const r = await exec(FETCH(`http://api.test:${secure.port}/v1/me`));
    expect(r.stdout, r.stderr).toBe("200 upstream says hi to /v1/me\n");
    expect(secure.seen.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
    const tunnel = await exec(CONNECT(`api.test:${secure.port}`));
    expect(tunnel.stdout).toMatch(/^HTTP\/1\.1 403 Forbidden\n.*api\.test has secrets: send plain http:\/\/api\.test\//);
    const search = await exec(SEARCH(Buffer.from(secret).toString("hex")));
    expect(search.stdout, search.stderr).toBe("looked True hits [] env False\n");
    const info = await rt.json("GET", `/threads/acme/${thread}`);
    expect(JSON.stringify(info)).not.toContain(secret);
    expect(await hostFilesHolding(rt.root, Buffer.from(secret))).toEqual([]);
    expect(rt.logs()).not.toContain(secret);
  });

  it("refuses secrets sealed for another thread or under another key, and keeps the ones it has", async () => {
    const secrets = [{ host: "api.test", header: "authorization", value: "Bearer stolen" }];
    for (const sealed of [await sealSecrets(TEST_SECRET, "acme/other-thread", secrets), await sealSecrets("another-secret-0123456789", `acme/${thread}`, secrets)]) {
      const res = await rt.call("POST", `/threads/acme/${thread}`, { body: {}, headers: { [EGRESS_SECRETS_HEADER]: sealed } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_FAILED");
    }
    await exec(FETCH(`http://api.test:${secure.port}/again`));
    expect(secure.seen.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
  });

  it("refuses a request for a secret's host while the runtime has not been given the secret", async () => {
    const bare = newThread("egress-bare");
    const network = { allow: ["api.test"], secrets: [{ host: "api.test", header: "authorization" }] };
    expect((await rt.call("POST", `/threads/acme/${bare}`, { body: { network } })).status).toBe(200);
    const before = secure.seen.length;
    const r = await rt.json<ExecResult>("POST", `/threads/acme/${bare}/exec`, { command: FETCH(`http://api.test:${secure.port}/`), timeout: 60 });
    expect(r.stdout).toMatch(/^502 threadbox egress proxy: failed: the secrets for api\.test are not on this runtime yet/);
    expect(secure.seen.length).toBe(before);
  });

  it("forgets a deleted thread's secrets", async () => {
    const again = newThread("egress-again");
    const network = { allow: ["api.test"], secrets: [{ host: "api.test", header: "authorization" }] };
    const sealed = await sealSecrets(TEST_SECRET, `acme/${again}`, [{ host: "api.test", header: "authorization", value: "Bearer first" }]);
    expect((await rt.call("POST", `/threads/acme/${again}`, { body: { network }, headers: { [EGRESS_SECRETS_HEADER]: sealed } })).status).toBe(200);
    const run = (command: string) => rt.json<ExecResult>("POST", `/threads/acme/${again}/exec`, { command, timeout: 60 });
    expect((await run(FETCH(`http://api.test:${secure.port}/first`))).stdout).toBe("200 upstream says hi to /first\n");
    expect((await rt.call("DELETE", `/threads/acme/${again}`)).status).toBe(200);
    expect((await rt.call("POST", `/threads/acme/${again}`, { body: { network } })).status).toBe(200);
    expect((await run(FETCH(`http://api.test:${secure.port}/second`))).stdout).toMatch(/^502 .*secrets for api\.test are not on this runtime yet/);
  });

  it("installs packages from an allowed index through the proxy", async () => {
    const before = index.downloads("tbx-egress");
    const r = InstallResultSchema.parse(await rt.json("POST", `/threads/acme/${thread}/packages`, { packages: ["tbx-egress"] }));
    expect(r.ok, JSON.stringify(r)).toBe(true);
    expect(index.downloads("tbx-egress")).toBe(before + 1);
  });
});
