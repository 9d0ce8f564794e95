import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TERMINAL_PROTOCOL } from "../../shared/src/index.ts";
import { failure, newThread } from "../runtime/context-client.ts";
import { type RuntimeProcess, startRuntime } from "../runtime/harness.ts";
import { readUntil, signedSocket, startServers } from "../runtime/preview-servers.ts";
import { listen } from "./network-cases.ts";

// Hostile rows for preview URLs and terminals (SECURITY.md, P1–P7), under proot and bwrap: the relay reaches only
// its own thread's sandbox loopback, as that thread's uid, never the host's; a terminal is its own thread's.

/** The relay processes (`--connect=PORT`) on the host: their uid and NoNewPrivs. */
function relays(port: number): { uid: number; noNewPrivs: number }[] {
  const ps = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return ps
    .split("\n")
    .filter((l) => l.includes(`--connect=${port}`) && !l.includes("ps -eo"))
    .map((l) => {
      const status = readFileSync(`/proc/${l.trim().split(/\s+/)[0]}/status`, "utf8");
      return { uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]), noNewPrivs: Number(/^NoNewPrivs:\s+(\d)/m.exec(status)?.[1]) };
    });
}

describe.each(["proot", "bwrap"] as const)("preview URLs and terminals under %s", (backend) => {
  let rt: RuntimeProcess;
  const a = newThread("ports-a");
  const b = newThread("ports-b");
  let host: Awaited<ReturnType<typeof listen>>;
  const proxy = (thread: string, port: number | string, rest = "/", tenant = "acme") => `/threads/${tenant}/${thread}/ports/${port}/proxy${rest}`;
  beforeAll(async () => {
    host = await listen("127.0.0.1");
    // The runtime's own allowlist names the host listener: a "default" thread's programs may reach it, the relay never.
    rt = await startRuntime({ ISOLATION: backend, SANDBOX_NET_ALLOW: `127.0.0.1:${host.port}`, PREVIEW_CONNECTIONS_PER_THREAD: "3" });
    await startServers(rt, a, { http: 8000, ws: 8001 });
    await rt.json("POST", `/threads/acme/${b}`, {});
  }, 120_000);
  afterAll(async () => {
    host?.server.close();
    await rt?.stop();
  });

  it("P1: thread A's server is not reachable through thread B's or another tenant's same-named thread's port", async () => {
    expect((await rt.call("GET", proxy(a, 8000))).status).toBe(200);
    expect(await failure(await rt.call("GET", proxy(b, 8000)), 502)).toBe("PORT_NOT_LISTENING");
    expect(await failure(await rt.call("GET", proxy(a, 8000, "/", "other")), 502)).toBe("PORT_NOT_LISTENING");
  });

  it("P2: the relay never reaches a service on the host's loopback, not even one the egress allowlist names", async () => {
    const before = host.accepted;
    // In a "default" thread that port of 127.0.0.1 leads to the host (the allowlist): refused outright.
    for (const thread of [a, b]) expect(await failure(await rt.call("GET", proxy(thread, host.port)), 403)).toBe("FORBIDDEN");
    // In a "none" thread it is the sandbox's own loopback, where nothing listens.
    const none = newThread("ports-none");
    await rt.json("POST", `/threads/acme/${none}`, { network: "none" });
    expect(await failure(await rt.call("GET", proxy(none, host.port)), 502)).toBe("PORT_NOT_LISTENING");
    // The runtime's own port (the host's loopback) too.
    const runtimePort = Number(new URL(rt.url).port);
    expect(await failure(await rt.call("GET", proxy(a, runtimePort)), 502)).toBe("PORT_NOT_LISTENING");
    expect(host.accepted).toBe(before);
  });

  it("P3: port 0, 65536, hex, signs and paths in the port are refused before any relay starts", async () => {
    for (const port of ["0", "65536", "99999", "0x1f40", "-1", "+80", "8000.0", "%38000", "1e3"]) {
      const res = await rt.call("GET", proxy(a, port));
      expect(res.status, port).toBe(400);
    }
    expect(relays(0)).toEqual([]);
  });

  it("P4: the relay runs as the thread's uid with no_new_privs, and goes when the client does", async () => {
    const ws = await signedSocket(rt, proxy(a, 8001, "/hold"));
    const running = relays(8001);
    expect(running.length).toBe(1);
    expect(running[0]?.uid).toBeGreaterThan(0);
    expect(running[0]?.noNewPrivs).toBe(1);
    ws.terminate();
    let left = running;
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = relays(8001);
    }
    expect(left).toEqual([]);
  });

  it("P5: a terminal is its own thread's: another tenant's same-named thread sees neither its files nor its uid", async () => {
    const mine = await signedSocket(rt, `/threads/acme/${a}/terminal`, [TERMINAL_PROTOCOL]);
    mine.send(JSON.stringify({ type: "input", data: "echo secret > term-secret.txt; echo uid=$(id -u)\n" }));
    const uidA = /uid=(\d+)\r\n/.exec(await readUntil(mine, /uid=\d+\r\n/))?.[1];
    mine.close();
    const theirs = await signedSocket(rt, `/threads/other/${a}/terminal`, [TERMINAL_PROTOCOL]);
    theirs.send(JSON.stringify({ type: "input", data: "cat term-secret.txt || echo missing; echo uid=$(id -u)\n" }));
    const out = await readUntil(theirs, /uid=\d+\r\n/);
    theirs.close();
    expect(out).toContain("missing");
    expect(out).not.toMatch(/\nsecret\r\n/);
    expect(/uid=(\d+)\r\n/.exec(out)?.[1]).not.toBe(uidA);
  });

  it("P6: a malformed terminal path or a bad control message is refused or taken as input, never a crash", async () => {
    await expect(signedSocket(rt, `/threads/acme/..%2F${a}/terminal`, [TERMINAL_PROTOCOL])).rejects.toThrow(/HTTP 40\d/);
    const ws = await signedSocket(rt, `/threads/acme/${a}/terminal`, [TERMINAL_PROTOCOL]);
    ws.send(JSON.stringify({ type: "resize", cols: 0, rows: 1e9 }));
    ws.send("{not json");
    ws.send(JSON.stringify({ type: "input", data: "\necho al''ive\n" }));
    expect(await readUntil(ws, /alive\r\n/)).toContain("alive");
    ws.close();
    expect((await rt.call("GET", "/health")).status).toBe(200);
  });

  it("P7: a URL holder cannot fill the host with relays: open connections per thread are capped (429), and freed on close", async () => {
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await signedSocket(rt, proxy(a, 8001, `/hold-${i}`)));
    await expect(signedSocket(rt, proxy(a, 8001, "/one-more"))).rejects.toThrow(/HTTP 429 .*RATE_LIMITED/);
    expect(await failure(await rt.call("GET", proxy(a, 8000)), 429)).toBe("RATE_LIMITED");
    // Another thread has its own allowance.
    expect(await failure(await rt.call("GET", proxy(b, 8000)), 502)).toBe("PORT_NOT_LISTENING");
    for (const ws of held) ws.terminate();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await rt.call("GET", proxy(a, 8000));
      await res.arrayBuffer();
      status = res.status;
    }
    expect(status).toBe(200);
  });
});
