import { type Server, createServer } from "node:http";
import type { CaseContext, HostileCase } from "./hostile.ts";
import { hostAddress } from "./network-cases.ts";
import { listeningPorts } from "./processes.ts";
import { pyExec, REPORT, reported } from "./programs.ts";

/**
 * SECURITY.md's egress-policy rows (X30-X33): a thread with `network: {allow, ...}` talks to its egress proxy at
 * 10.0.2.2:3128 by hand and tries to make it reach what the policy must keep out of reach: the runtime, the host's
 * loopback, cloud metadata, private ranges (by address, by names that resolve there, by Host header tricks), or to
 * wear it down (huge headers, slow headers). The policy allows names that resolve to loopback ("localhost"), so only
 * the proxy's address check stands between them and the host. Targets are this test's listeners and the runtime.
 */
const POLICY = { network: { allow: ["localhost", "*.localhost", "ip6-localhost", "allowed.invalid"] } };

const PROGRAM = `${REPORT}
import os, socket, time
PROXY = ("10.0.2.2", 3128)
def ask(raw, limit=65536):
    s = socket.create_connection(PROXY, timeout=20)
    s.sendall(raw)
    got = b""
    try:
        while len(got) < limit:
            d = s.recv(4096)
            if not d: break
            got += d
            if b"\\r\\n\\r\\n" in got and not got.startswith(b"HTTP/1.1 200"): break
            if got.startswith(b"HTTP/1.1 200"): break
    except socket.timeout:
        got += b" TIMEOUT"
    s.close()
    return got.split(b"\\r\\n")[0].decode(errors="replace")
found = {}
for t in os.environ["TARGETS"].split(","):
    found["CONNECT " + t] = ask(("CONNECT %s HTTP/1.1\\r\\nHost: %s\\r\\n\\r\\n" % (t, t)).encode())
local = os.environ["LOCAL"]
found["absolute vs Host"] = ask(("GET http://allowed.invalid/ HTTP/1.1\\r\\nHost: %s\\r\\n\\r\\n" % local).encode())
found["origin-form"] = ask(("GET / HTTP/1.1\\r\\nHost: %s\\r\\n\\r\\n" % local).encode())
found["absolute to loopback"] = ask(("GET http://%s/ HTTP/1.1\\r\\nHost: allowed.invalid\\r\\n\\r\\n" % local).encode())
found["huge headers"] = ask(b"GET http://allowed.invalid/ HTTP/1.1\\r\\nX-Big: " + b"a" * 70000 + b"\\r\\n\\r\\n")
# Slow headers: connections that never finish theirs. The proxy still answers a new one, and ends the slow ones.
slow = []
for _ in range(40):
    s = socket.create_connection(PROXY, timeout=5)
    s.sendall(b"GET http://allowed.invalid/ HTTP/1.1\\r\\nX-Slow: 1\\r\\n")
    slow.append(s)
found["while slow"] = ask(b"CONNECT 127.0.0.1:1 HTTP/1.1\\r\\n\\r\\n")
ended = 0
deadline = time.time() + 60
for s in slow:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        while s.recv(4096): pass
        ended += 1
    except OSError:
        pass
    s.close()
found["slow ended"] = ended
report(**found)
`;

const state = new Map<string, { server: Server; port: number; hits: number; env: Record<string, string> }>();

async function prepare(ctx: CaseContext): Promise<void> {
  const runtimePort = (await listeningPorts(ctx.target.pid)).find((p) => !p.v6)?.port ?? 1;
  const mine = { server: createServer((_, res) => ((mine.hits += 1), res.end("reached"))), port: 0, hits: 0, env: {} as Record<string, string> };
  await new Promise<void>((resolve) => mine.server.listen(0, "127.0.0.1", resolve));
  mine.port = (mine.server.address() as { port: number }).port;
  state.set(ctx.marker, mine);
  const host = hostAddress();
  mine.env = {
    LOCAL: `127.0.0.1:${mine.port}`,
    TARGETS: [
      `127.0.0.1:${runtimePort}`, `localhost:${runtimePort}`, `localhost:${mine.port}`, `x.localhost:${mine.port}`,
      `[::1]:${mine.port}`, `[::ffff:127.0.0.1]:${mine.port}`, `0.0.0.0:${mine.port}`, `2130706433:${mine.port}`,
      `10.0.2.2:${runtimePort}`, "169.254.169.254:80", "10.1.2.3:80", "192.168.1.2:80",
      ...(host ? [`${host}:${runtimePort}`] : []),
    ].join(","),
  };
}

export const EGRESS_CASES: HostileCase[] = [
  {
    id: "X30",
    title: "through the egress proxy: CONNECT to the runtime, loopback (by address and by names), metadata, private ranges; Host header tricks; 70 KB of headers; 40 slow connections",
    route: "exec",
    setup: POLICY,
    prepare,
    body: (ctx) => ({ ...pyExec(PROGRAM, 120), env: state.get(ctx.marker)?.env ?? {} }),
    check(out, ctx) {
      const mine = state.get(ctx.marker);
      state.delete(ctx.marker);
      try {
        const found = reported<Record<string, string | number>>(out.exec.stdout);
        const { "slow ended": ended, "huge headers": huge, "origin-form": origin, ...rest } = found;
        ctx.expect(Object.keys(rest).length, out.exec.stdout).toBeGreaterThanOrEqual(14);
        for (const [what, answer] of Object.entries(rest)) ctx.expect(answer, what).toMatch(/^HTTP\/1\.1 (403|502)/);
        ctx.expect(origin).toMatch(/^HTTP\/1\.1 400/);
        ctx.expect(huge).toMatch(/^HTTP\/1\.1 431/);
        ctx.expect(ended).toBe(40);
        ctx.expect(mine?.hits).toBe(0);
      } finally {
        mine?.server.close();
      }
    },
  },
];
