import type { IncomingMessage, ServerResponse } from "node:http";
import type { ProcessInfo } from "../shared/src/index.ts";

const PROCESS_PATH = /^\/threads\/([\w-]+)\/([\w-]+)\/processes(?:\/([\w-]+))?(?:\/(logs|stdin|wait))?(?:\?.*)?$/;

/**
 * The stand-in runtime's background processes (test/fake-runtime.ts): kept per thread in memory, each "running" until
 * stopped; `restart(thread)` forgets them, as a runtime restart does. Logs are two fixed lines and the end.
 */
export function fakeProcesses() {
  const byThread = new Map<string, Map<string, ProcessInfo>>();
  let next = 0;
  const send = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

  return {
    /** Forgets the thread's processes (`tenant/thread`), as a runtime restart does. */
    restart: (key: string) => byThread.delete(key),
    /** Handles the call when it is a process route; false otherwise. */
    handle(req: IncomingMessage, res: ServerResponse, path: string, body: string): boolean {
      const m = PROCESS_PATH.exec(path);
      if (!m) return false;
      const [, tenant, thread, id, action] = m;
      const procs = byThread.get(`${tenant}/${thread}`) ?? new Map<string, ProcessInfo>();
      byThread.set(`${tenant}/${thread}`, procs);
      if (!id && req.method === "POST") {
        const { command, name } = JSON.parse(body) as { command: string; name?: string };
        const info: ProcessInfo = {
          id: `proc_fake${next++}`, name: name ?? null, command, status: "running", exit_code: null, reason: null,
          started_at: new Date().toISOString(), ended_at: null, last_seq: 1,
        };
        procs.set(info.id, info);
        send(res, 201, info);
        return true;
      }
      if (!id) return (send(res, 200, { processes: [...procs.values()] }), true);
      const p = procs.get(id);
      if (!p) return (send(res, 404, { error: { code: "PROCESS_NOT_FOUND", message: `no process ${id}` } }), true);
      const end = (reason: ProcessInfo["reason"], exit: number) => {
        if (p.status === "running") Object.assign(p, { status: reason ? "killed" : "exited", reason, exit_code: exit, ended_at: new Date().toISOString() });
      };
      if (req.method === "DELETE") end("stopped", 143);
      if (action === "wait") end(null, 0);
      if (action === "stdin") return (send(res, 200, { id, written: Buffer.byteLength((JSON.parse(body) as { data: string }).data) }), true);
      if (action === "logs") {
        const lines = [{ type: "log", seq: 0, stream: "stdout", text: "one\n" }, { type: "log", seq: 1, stream: "stdout", text: "two\n" }];
        const after = Number(new URL(path, "http://x").searchParams.get("after") ?? -1);
        const out = [...lines.filter((l) => l.seq > after), { type: "end", process: p }];
        res.writeHead(200, { "content-type": "application/x-ndjson" }).end(out.map((l) => `${JSON.stringify(l)}\n`).join(""));
        return true;
      }
      send(res, 200, action === "wait" ? { outcome: "exited", process: p } : p);
      return true;
    },
  };
}
