import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecResult, type ThreadState } from "../../shared/src/index.ts";
import { CONNECT, FETCH, SEARCH } from "../runtime/egress-programs.ts";
import { type Upstream, makeCertificate, removeCertificate, startHttpUpstream, startHttpsUpstream } from "../runtime/egress-upstream.ts";
import { type RuntimeProcess, startRuntime } from "../runtime/harness.ts";
import { expectJson } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Issue 20 through the public API: a thread created with `network: {allow, deny, secrets}` reaches an allowed host
// through its runtime's egress proxy, is refused the rest, and its secret is added upstream without ever being
// shown by the API or seen in the sandbox. The *.test names are this machine's loopback (EGRESS_HOSTS).
let stack: Stack;
let plain: Upstream;
let secure: Upstream;
let certDir: string;
let caFile: string;
let restarted: RuntimeProcess | undefined;
const secret = `tbx-e2e-${randomBytes(16).toString("hex")}`;

beforeAll(async () => {
  const tls = makeCertificate("api.test");
  certDir = tls.dir;
  caFile = tls.caFile;
  [plain, secure] = await Promise.all([startHttpUpstream(), startHttpsUpstream(tls)]);
  stack = await startStack({ runtime: { EGRESS_HOSTS: "allowed.test=127.0.0.1,api.test=127.0.0.1", EGRESS_CA_FILE: tls.caFile } });
}, 120_000);
afterAll(async () => {
  await restarted?.stop();
  await stack?.stop();
  await Promise.all([plain?.close(), secure?.close()]);
  if (certDir) removeCertificate(certDir);
});

const exec = (thread: string, command: string) =>
  expectJson<ExecResult>(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command, timeout: 60 } }), 200);

describe("a thread's egress policy through the stack", () => {
  it("lets allowed hosts through the proxy, refuses the rest, adds the secret upstream and never shows it", async () => {
    const network = { allow: ["allowed.test", "api.test"], secrets: [{ host: "api.test", header: "X-Api-Key", value: secret }] };
    const created = await stack.api("POST", "/v1/threads", { body: { id: randomUUID(), network } });
    const text = await created.text();
    expect(created.status, text).toBe(201);
    expect(text).not.toContain(secret);
    const thread = JSON.parse(text) as ThreadState;
    expect(thread.network).toEqual({ allow: ["allowed.test", "api.test"], secrets: [{ host: "api.test", header: "X-Api-Key" }] });

    expect((await exec(thread.id, FETCH(`http://allowed.test:${plain.port}/ok`))).stdout).toBe("200 upstream says hi to /ok\n");
    expect((await exec(thread.id, FETCH(`http://elsewhere.test:${plain.port}/`))).stdout).toMatch(/^403 threadbox egress proxy: refused: elsewhere\.test is not in/);
    expect((await exec(thread.id, CONNECT(`127.0.0.1:${plain.port}`))).stdout).toMatch(/^HTTP\/1\.1 403/);

    const api = await exec(thread.id, FETCH(`http://api.test:${secure.port}/v1/models`));
    expect(api.stdout, api.stderr).toBe("200 upstream says hi to /v1/models\n");
    expect(secure.seen.at(-1)?.headers["x-api-key"]).toBe(secret);
    const search = await exec(thread.id, SEARCH(Buffer.from(secret).toString("hex")));
    expect(search.stdout, search.stderr).toBe("looked True hits [] env False\n");

    const shown = await (await stack.api("GET", `/v1/threads/${thread.id}`)).text();
    expect(shown).not.toContain(secret);
    const history = await (await stack.api("GET", `/v1/threads/${thread.id}/executions`)).text();
    expect(history).not.toContain(secret);
    expect(stack.runtime.logs()).not.toContain(secret);
  });

  it("gives a restarted runtime the secret again with the thread's next call (it keeps them in memory only)", async () => {
    const network = { allow: ["api.test"], secrets: [{ host: "api.test", header: "X-Api-Key", value: secret }] };
    const thread = await expectJson<ThreadState>(stack.api("POST", "/v1/threads", { body: { id: randomUUID(), network } }), 201);
    // The same runtime (port, RUNTIME_ID, root) started again: its STATE_DIR has the policy, not the secret.
    const port = new URL(stack.runtime.url).port;
    const exited = new Promise((r) => stack.runtime.child.once("exit", r));
    stack.runtime.child.kill("SIGTERM");
    await exited;
    restarted = await startRuntime(
      { EGRESS_HOSTS: "api.test=127.0.0.1", EGRESS_CA_FILE: caFile, PORT: port, RUNTIME_ID: `http://127.0.0.1:${port}` },
      { root: stack.runtime.root },
    );
    const api = await exec(thread.id, FETCH(`http://api.test:${secure.port}/after-restart`));
    expect(api.stdout, api.stderr).toBe("200 upstream says hi to /after-restart\n");
    expect(secure.seen.at(-1)?.headers["x-api-key"]).toBe(secret);
    expect(restarted.logs()).not.toContain(secret);
  });
});
