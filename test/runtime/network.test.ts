import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecResult } from "../../shared/src/index.ts";
import { createLogger } from "../../runtime-container/src/logger.ts";
import { allowanceFor, parseAllowList } from "../../runtime-container/src/sandbox/network/cidr.ts";
import { egressRuleset } from "../../runtime-container/src/sandbox/network/egress-rules.ts";
import { ThreadNetworks } from "../../runtime-container/src/sandbox/network/thread-networks.ts";
import { hostAddress, listen } from "../security/network-cases.ts";
import { contextClient, newThread } from "./context-client.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

// A network namespace per thread (SECURITY.md's X7 and X20 show what it refuses): what it lets through, whom it
// is shared with, and when it goes. Only listeners of this test on this machine are reached.

const CONNECT = (host: string, port: number) =>
  `python3 -c "import socket; s = socket.create_connection(('${host}', ${port}), timeout=5); print('connected', s.recv(64).decode())"`;

// A server in a context of the thread, on the thread's own 127.0.0.1; the cell's value is its port.
const SERVER = `
import socket, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
def serve():
    while True:
        c, _ = srv.accept()
        c.sendall(b"hello")
        c.close()
threading.Thread(target=serve, daemon=True).start()
srv.getsockname()[1]
`;

const host = hostAddress();
const LAUNCHER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../.build/seccomp-exec");

describe.each(["proot", "bwrap"] as const)("a thread's network namespace under %s", (backend) => {
  let rt: RuntimeProcess;
  let allowed: Awaited<ReturnType<typeof listen>> | undefined;
  let allowedLoopback: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    allowed = host ? await listen(host) : undefined;
    allowedLoopback = await listen("127.0.0.1");
    const allow = [...(host ? [`${host}/32`] : []), `127.0.0.1:${allowedLoopback.port}`].join(",");
    rt = await startRuntime({ ISOLATION: backend, SANDBOX_NET_ALLOW: allow });
  });
  afterAll(async () => {
    allowed?.server.close();
    allowedLoopback?.server.close();
    await rt?.stop();
  });
  const exec = (thread: string, command: string) => rt.json<ExecResult>("POST", `/threads/acme/${thread}/exec`, { command, timeout: 30 });
  const contexts = contextClient(() => rt);

  it.skipIf(!host)("reaches an address SANDBOX_NET_ALLOW names, through its user-mode stack, and no other host port", async () => {
    const local = await listen("127.0.0.1");
    try {
      const thread = newThread("egress");
      const out = await exec(thread, CONNECT(host as string, allowed?.port as number));
      expect(out.stdout).toBe("connected \n");
      expect(allowed?.accepted).toBeGreaterThanOrEqual(1);
      const loop = await exec(thread, CONNECT("127.0.0.1", local.port));
      expect(loop.exit_code).not.toBe(0);
      expect(loop.stderr).toMatch(/Connection refused/);
      expect(local.accepted).toBe(0);
      // The other host port it names is on the host's loopback: reached at 127.0.0.1 (a local package mirror).
      const mirror = await exec(thread, CONNECT("127.0.0.1", allowedLoopback.port));
      expect(mirror.stdout, mirror.stderr).toBe("connected \n");
      expect(allowedLoopback.accepted).toBeGreaterThanOrEqual(1);
      const gateway = await exec(thread, CONNECT("10.0.2.2", local.port));
      expect(gateway.exit_code).not.toBe(0);
      expect(gateway.stderr).toMatch(/No route to host/);
    } finally {
      local.server.close();
    }
  });

  it("shares 127.0.0.1 among one thread's contexts and runs, never with another thread", async () => {
    const mine = newThread("owner");
    const ctx = await contexts.create(mine);
    const port = Number(await contexts.value(mine, ctx.id, SERVER));
    expect(port).toBeGreaterThan(0);
    expect((await exec(mine, CONNECT("127.0.0.1", port))).stdout).toBe("connected hello\n");
    const other = await exec(newThread("other"), CONNECT("127.0.0.1", port));
    expect(other.exit_code).not.toBe(0);
    expect(other.stderr).toMatch(/Connection refused/);
  });
});

/** The namespace holders and slirp4netns processes a runtime started (its children), by host pid. */
async function namespaceProcesses(runtimePid: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const [status, cmdline] = await Promise.all([readFile(`/proc/${entry}/status`, "utf8"), readFile(`/proc/${entry}/cmdline`, "utf8")]).catch(() => ["", ""]);
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
    if (ppid === runtimePid && /--hold-netns|^slirp4netns\0/.test(cmdline)) found.push(Number(entry));
  }
  return found;
}

/** Live (not zombie) processes among `pids`. */
async function alive(pids: number[]): Promise<number[]> {
  const states = await Promise.all(pids.map((p) => readFile(`/proc/${p}/status`, "utf8").catch(() => "")));
  return pids.filter((_, i) => states[i] !== "" && !/^State:\s+Z/m.test(states[i] as string));
}

async function pollUntil(check: () => Promise<boolean>, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe("a thread's network namespace ends", () => {
  it("when the thread has been idle (SANDBOX_NET_IDLE_S), and a later run gets a new one", async () => {
    const rt = await startRuntime({ SANDBOX_NET_IDLE_S: "1" });
    try {
      const pid = rt.child.pid as number;
      const thread = newThread("idle");
      const first = await rt.json<ExecResult>("POST", `/threads/acme/${thread}/exec`, { command: "grep -c tap0 /proc/net/dev" });
      const used = await namespaceProcesses(pid);
      expect(used.length, "a holder and slirp4netns").toBe(2);
      expect(await pollUntil(async () => (await alive(used)).length === 0)).toBe(true);
      const again = await rt.json<ExecResult>("POST", `/threads/acme/${thread}/exec`, { command: "grep -c tap0 /proc/net/dev" });
      expect(first.stdout).toBe("1\n");
      expect(again.stdout).toBe("1\n");
    } finally {
      await rt.stop();
    }
  });

  it("when the runtime is killed: nothing of it is left", async () => {
    const rt = await startRuntime();
    try {
      const pid = rt.child.pid as number;
      await rt.json("POST", "/threads/acme/kill-default/exec", { command: "true" });
      await rt.json("POST", "/threads/acme/kill-none", { network: "none" });
      await rt.json("POST", "/threads/acme/kill-none/exec", { command: "true" });
      const used = await namespaceProcesses(pid);
      expect(used.length, "two holders and one slirp4netns").toBe(3);
      rt.child.kill("SIGKILL");
      expect(await pollUntil(async () => (await alive(used)).length === 0)).toBe(true);
    } finally {
      await rt.stop();
    }
  });
});

describe("ThreadNetworks (what Sandbox.releaseThread calls)", () => {
  it("ends a released thread's namespace at once, even with a run still holding it, and makes a new one on demand", async () => {
    const nets = new ThreadNetworks({ launcher: LAUNCHER, allow: { ranges: [], loopbackPorts: [] } }, 3_600_000, createLogger("error"));
    try {
      const lease = await nets.acquire(4242, "default");
      const used = await nets.pidsOf(4242);
      expect(await alive(used)).toHaveLength(2);
      expect(nets.releaseUid(4242)).toBe(true);
      expect(await pollUntil(async () => (await alive(used)).length === 0)).toBe(true);
      lease.release();
      const next = await nets.acquire(4242, "none");
      const now = await nets.pidsOf(4242);
      expect(await alive(now)).toHaveLength(1);
      expect(now).not.toContain(used[0]);
      next.release();
    } finally {
      nets.closeAll();
    }
  });
});

describe("SANDBOX_NET_ALLOW and the egress rules", () => {
  it("reads ranges and host loopback ports, and a runtime given anything else does not start", async () => {
    expect(parseAllowList(" 203.0.113.7/32, 2001:db8::/48,127.0.0.1:3141,localhost:8080,10.9.9.9")).toEqual({
      ranges: [
        { family: 4, text: "203.0.113.7/32" },
        { family: 6, text: "2001:db8::/48" },
        { family: 4, text: "10.9.9.9" },
      ],
      loopbackPorts: [3141, 8080],
    });
    expect(parseAllowList("10.0.0.0/33,127.0.0.1:0,example.com,[::1]:80")).toEqual({ bad: ["10.0.0.0/33", "127.0.0.1:0", "example.com", "[::1]:80"] });
    expect(allowanceFor("http://127.0.0.1:4040/simple/")).toEqual({ ranges: [], loopbackPorts: [4040] });
    expect(allowanceFor("https://10.2.3.4/simple/")).toEqual({ ranges: [{ family: 4, text: "10.2.3.4" }], loopbackPorts: [] });
    expect(allowanceFor("https://pypi.org/simple/")).toEqual({ ranges: [], loopbackPorts: [] });
    await expect(startRuntime({ SANDBOX_NET_ALLOW: "10.0.0.0/8,nope" })).rejects.toThrow(/SANDBOX_NET_ALLOW: not an address, CIDR range or 127\.0\.0\.1:PORT: nope/);
  });

  it("accepts what is allowed before it refuses the blocked ranges, and sends allowed loopback ports to the gateway", () => {
    const rules = egressRuleset({
      dns: [{ family: 4, text: "10.255.255.53" }],
      allow: { ranges: [{ family: 4, text: "10.9.9.9" }], loopbackPorts: [3141] },
      host: [{ family: 4, text: "192.0.2.2" }],
    });
    const lines = rules.split("\n").map((l) => l.trim());
    const at = (rule: string) => lines.indexOf(rule);
    expect(at("ip daddr 10.255.255.53 udp dport 53 accept")).toBeGreaterThan(-1);
    expect(at("ip daddr 10.9.9.9 accept")).toBeGreaterThan(-1);
    expect(at("ip daddr 10.0.2.2 tcp dport { 3141 } accept")).toBeGreaterThan(-1);
    for (const accept of ["ip daddr 10.255.255.53 tcp dport 53 accept", "ip daddr 10.9.9.9 accept", "ip daddr 10.0.2.2 tcp dport { 3141 } accept"]) {
      expect(at(accept)).toBeLessThan(at("ip daddr 10.0.0.0/8 reject with icmp type admin-prohibited"));
    }
    expect(at("ip daddr 192.0.2.2 reject with icmp type admin-prohibited")).toBeGreaterThan(-1);
    expect(at("ip daddr 169.254.0.0/16 reject with icmp type admin-prohibited")).toBeGreaterThan(-1);
    expect(at("ip daddr 127.0.0.1 tcp dport { 3141 } dnat to 10.0.2.2")).toBeGreaterThan(-1);
    // Without loopback ports there is no nat table at all.
    expect(egressRuleset({ dns: [], allow: { ranges: [], loopbackPorts: [] }, host: [] })).not.toMatch(/nat|dnat/);
  });
});
