import { type Server, createServer } from "node:net";
import os from "node:os";
import type { CaseContext, HostileCase } from "./hostile.ts";
import { listeningPorts } from "./processes.ts";
import { pyExec, REPORT, reported } from "./programs.ts";

/**
 * SECURITY.md's egress rows (X20): a sandbox has a network namespace of its own per thread. With network "default"
 * its way out (a user-mode stack) refuses the host, loopback, link-local (cloud metadata) and private ranges at once;
 * with "none" it has lo only. The targets are listeners of this test (on the host's loopback and on its own
 * non-loopback address), the runtime's port, and addresses nothing answers on (which would time out, not be refused,
 * if the packets left). Nothing here reaches beyond this machine.
 */
const CONNECT = `${REPORT}
import errno, os, socket
found = {}
try:
    found["interfaces"] = ",".join(sorted(name for _, name in socket.if_nameindex()))
except OSError as e:
    found["interfaces"] = errno.errorcode.get(e.errno, str(e))
for spec in os.environ["TARGETS"].split(","):
    host, port = spec.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        found[spec] = "CONNECTED"
    except socket.timeout:
        found[spec] = "TIMEOUT"
    except OSError as e:
        found[spec] = errno.errorcode.get(e.errno, str(e))
report(**found)
`;

/** What "refused at once" looks like from inside: an error right away, never a connection or a timeout. */
const REFUSED = ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EACCES", "EPERM"];

/** The host's first non-loopback IPv4 address, where a test listener can sit. */
export function hostAddress(): string | null {
  const all = Object.values(os.networkInterfaces()).flatMap((l) => l ?? []);
  return all.find((a) => a.family === "IPv4" && !a.internal)?.address ?? null;
}

interface Listener {
  server: Server;
  port: number;
  accepted: number;
}

export async function listen(host: string): Promise<Listener> {
  const listener: Listener = { server: createServer(), port: 0, accepted: 0 };
  listener.server.on("connection", (socket) => {
    listener.accepted++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    listener.server.once("error", reject);
    listener.server.listen(0, host, () => resolve());
  });
  listener.server.unref();
  listener.port = (listener.server.address() as { port: number }).port;
  return listener;
}

const listenersFor = new Map<string, { targets: string; listeners: Listener[] }>();

async function prepareTargets(ctx: CaseContext): Promise<void> {
  const runtimePort = (await listeningPorts(ctx.target.pid)).find((p) => !p.v6)?.port;
  const local = await listen("127.0.0.1");
  const host = hostAddress();
  const remote = host ? await listen(host) : null;
  const targets = [
    ...(runtimePort ? [`127.0.0.1:${runtimePort}`, `10.0.2.2:${runtimePort}`] : []),
    `127.0.0.1:${local.port}`,
    // slirp4netns's gateway, which leads to the host's loopback unless that is disabled.
    `10.0.2.2:${local.port}`,
    ...(remote ? [`${host}:${remote.port}`] : []),
    "169.254.169.254:80",
    "10.1.2.3:80",
    "172.16.1.2:80",
    "192.168.1.2:80",
    "100.64.1.2:80",
  ];
  listenersFor.set(ctx.marker, { targets: targets.join(","), listeners: [local, ...(remote ? [remote] : [])] });
}

const egressCase = (id: string, title: string, setup?: { network: "none" }): HostileCase => ({
  id,
  title,
  route: "exec",
  setup,
  prepare: prepareTargets,
  body: (ctx) => ({ ...pyExec(CONNECT, 60), env: { TARGETS: listenersFor.get(ctx.marker)?.targets ?? "" } }),
  check(out, ctx) {
    const mine = listenersFor.get(ctx.marker);
    listenersFor.delete(ctx.marker);
    try {
      const { interfaces, ...found } = reported<Record<string, string>>(out.exec.stdout);
      ctx.expect(interfaces).toBe(setup ? "lo" : "lo,tap0");
      ctx.expect(Object.keys(found).length).toBeGreaterThanOrEqual(8);
      for (const [target, answer] of Object.entries(found)) ctx.expect(REFUSED, `${target}: ${answer}`).toContain(answer);
      ctx.expect(mine?.listeners.map((l) => l.accepted)).toEqual(mine?.listeners.map(() => 0));
    } finally {
      for (const l of mine?.listeners ?? []) l.server.close();
    }
  },
});

export const NETWORK_CASES: HostileCase[] = [
  egressCase("X20", "connect to the host's loopback and own address, 10.0.2.2, 169.254.169.254 and private ranges"),
  egressCase("X20n", 'the same, and list the interfaces, from a thread with network: "none"', { network: "none" }),
];
