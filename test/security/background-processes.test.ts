import { describe, expect, it } from "vitest";
import { processClient } from "../runtime/process-client.ts";
import { newMarker, poll } from "./hostile.ts";
import { describeProcs, processesOf } from "./processes.ts";
import { useTarget } from "./suite.ts";
import { TENANT, runtimeTarget } from "./target.ts";

/**
 * Hostile background processes (SECURITY.md, BP rows) under proot and bwrap: a tree that tries to outlive its stop
 * or its thread's release, a neighbour thread that tries to see or signal it, and floods of output and stdin.
 */
const LOG_BYTES = 65_536;

// Every way out of a process group: a setsid child, a double-forked grandchild, a child ignoring SIGTERM. Each
// writes "up" and the uid it runs as.
const ESCAPER = `
import os, signal, time
def linger():
    os.write(1, f"up {os.getuid()}\\n".encode())  # one write: the four lines never interleave
    time.sleep(10**6)
    os._exit(0)
if os.fork() == 0:
    os.setsid(); linger()
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid(); linger()
    os._exit(0)
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN); linger()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
linger()
`;

describe.each(["proot", "bwrap"] as const)("background processes under %s", (backend) => {
  const target = useTarget(() => runtimeTarget(backend, { PROCESS_LOG_BYTES: String(LOG_BYTES) }));
  const client = (thread: string) => processClient(target().rt, TENANT, thread);

  /** Starts ESCAPER with the marker in its environment; resolves once its four processes are up, with their uid. */
  async function escaper(thread: string, marker: string): Promise<{ id: string; uid: number }> {
    const p = client(thread);
    const { id } = await p.start({ command: "python3 -c \"$PROG\"", env: { PROG: ESCAPER, TBX_MARK: marker } });
    const up = await p.logs(id, -1, (m) => (m.map((x) => (x.type === "log" ? x.text : "")).join("").match(/up \d+/g) ?? []).length >= 4);
    const uids = [...up.map((x) => (x.type === "log" ? x.text : "")).join("").matchAll(/up (\d+)/g)].map((m) => Number(m[1]));
    expect(uids).toHaveLength(4);
    return { id, uid: uids[0] as number };
  }

  const survivors = async (marker: string, uid: number) =>
    poll(() => processesOf({ marker, uid, runtimePid: target().pid }), (left) => left.length === 0, 50);

  it("BP1: a process that setsids, double-forks and ignores SIGTERM is killed with its whole tree", async () => {
    const marker = newMarker();
    const { id, uid } = await escaper(`bp1-${marker}`, marker);
    expect((await processesOf({ marker, uid, runtimePid: target().pid })).length).toBeGreaterThanOrEqual(4);
    expect(await client(`bp1-${marker}`).stop(id)).toMatchObject({ status: "killed", reason: "stopped" });
    const left = await survivors(marker, uid);
    expect(left, describeProcs(left)).toEqual([]);
  });

  it("BP2: the thread's release stops such a tree too, and nothing of it survives", async () => {
    const marker = newMarker();
    const thread = `bp2-${marker}`;
    const { id, uid } = await escaper(thread, marker);
    await target().rt.json("POST", `/threads/${TENANT}/${thread}/release`);
    expect(await client(thread).get(id)).toMatchObject({ status: "killed", reason: "released" });
    const left = await survivors(marker, uid);
    expect(left, describeProcs(left)).toEqual([]);
  });

  it("BP3: another thread can neither see nor signal a thread's process, by the API or from its sandbox", async () => {
    const marker = newMarker();
    const [mine, theirs] = [`bp3a-${marker}`, `bp3b-${marker}`];
    const { id } = await client(mine).start({ command: "sleep 100000", env: { TBX_MARK: marker } });
    for (const [method, suffix, body] of [["GET", "", undefined], ["DELETE", "", undefined], ["GET", "/logs", undefined], ["POST", "/stdin", { data: "x" }], ["POST", "/wait", { timeout: 1 }]] as const) {
      const res = await target().rt.call(method, `/threads/${TENANT}/${theirs}/processes/${id}${suffix}`, { body });
      expect(res.status, `${method} ${suffix}`).toBe(404);
    }
    expect(await client(theirs).list()).toEqual([]);
    // From inside the other thread's sandbox: look for it in /proc, then signal everything it may.
    const probe = await target().rt.json<{ stdout: string }>("POST", `/threads/${TENANT}/${theirs}/exec`, {
      command: `grep -l ${marker} /proc/[0-9]*/environ 2>/dev/null | wc -l; kill -9 -1`,
    });
    // kill -1 may take the probe's own shell with it: what matters is what it saw, and that the other survived.
    expect(probe.stdout).toBe("0\n");
    expect(await client(mine).get(id)).toMatchObject({ status: "running" });
    await client(mine).stop(id);
  });

  it("BP4: a process flooding its output keeps only the bounded tail; the runtime stays responsive", async () => {
    const p = client(`bp4-${newMarker()}`);
    const { id } = await p.start({ command: "cat /dev/zero | tr '\\0' a" });
    const flooded = await poll(() => p.get(id), (info) => info.last_seq > 200, 600);
    expect(flooded.last_seq).toBeGreaterThan(200);
    await p.stop(id);
    const kept = await p.logs(id);
    expect(kept[0]).toMatchObject({ type: "gap" });
    const chars = kept.reduce((n, m) => n + (m.type === "log" ? m.text.length : 0), 0);
    expect(chars * 2).toBeLessThanOrEqual(LOG_BYTES);
    expect(kept.at(-1)).toMatchObject({ type: "end" });
    expect((await target().rt.call("GET", "/health")).status).toBe(200);
  });

  it("BP4b: a log reader that stops reading during a flood is cut off (it may resume), never buffered for without bound", async () => {
    const thread = `bp4b-${newMarker()}`;
    const p = client(thread);
    const { id } = await p.start({ command: "cat /dev/zero | tr '\\0' a" });
    const res = await target().rt.call("GET", `/threads/${TENANT}/${thread}/processes/${id}/logs?after=-1`, { accept: "ndjson" });
    const start = (await p.get(id)).last_seq;
    // Not reading: ~1 GiB more output goes by (16 Ki characters an entry).
    const later = await poll(() => p.get(id), (info) => info.last_seq > start + 65_536, 3000);
    expect(later.last_seq).toBeGreaterThan(start + 65_536);
    const text = await res.text();
    expect(text.length).toBeLessThan(64 * 2 ** 20);
    const last = JSON.parse(text.trim().split("\n").at(-1) as string) as { type: string };
    expect(last.type).toBe("log"); // cut off while it still runs: no end
    expect(await p.get(id)).toMatchObject({ status: "running" });
    await p.stop(id);
  });

  it("BP5: stdin to a process that never reads it is refused once 1 MiB waits, never buffered without bound", async () => {
    const thread = `bp5-${newMarker()}`;
    const p = client(thread);
    const { id } = await p.start({ command: "sleep 100000" });
    const chunk = "x".repeat(256 * 1024);
    const statuses: number[] = [];
    for (let i = 0; i < 16 && !statuses.includes(413); i++) {
      const res = await target().rt.call("POST", `/threads/${TENANT}/${thread}/processes/${id}/stdin`, { body: { data: chunk } });
      statuses.push(res.status);
      if (res.status === 413) expect(await res.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
    }
    // The pipe takes its 64 KiB, then 1 MiB may wait in the runtime: the next write is refused.
    expect(statuses.at(-1)).toBe(413);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
    await p.stop(id);
  });

  it("BP6: a wait for a port counts only the process's own sockets, never another thread's listener", async () => {
    const marker = newMarker();
    const server = client(`bp6a-${marker}`);
    const web = await server.start({ command: "python3 -m http.server 8231 --bind 127.0.0.1" });
    expect(await server.wait(web.id, { port: 8231, timeout: 120 })).toMatchObject({ outcome: "port" });
    const other = client(`bp6b-${marker}`);
    const idle = await other.start({ command: "sleep 100000" });
    expect(await other.wait(idle.id, { port: 8231, timeout: 1 })).toMatchObject({ outcome: "timeout" });
    await Promise.all([server.stop(web.id), other.stop(idle.id)]);
  });
});
