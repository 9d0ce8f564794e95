import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecutionRecord, type ProcessLogMessage, type ThreadState } from "../../shared/src/index.ts";
import { Threadbox } from "../../client/src/index.ts";
import { createThread, expectJson } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Background processes through the whole stack (SDK → worker → thread object → runtime → sandbox).

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("background processes through the worker", () => {
  it("serves from a process while runs go on, streams its logs, feeds its stdin and stops it", async () => {
    const id = await createThread(stack);
    const thread = new Threadbox({ baseUrl: stack.worker.url, apiKey: stack.tenants.a.key }).thread(id);
    const web = await thread.processes.start("python3 -m http.server 8765 --bind 127.0.0.1", { name: "web" });
    expect(web).toMatchObject({ status: "running", name: "web" });
    expect(await thread.processes.wait(web.id, { port: 8765, timeout: 120 })).toMatchObject({ outcome: "port" });

    // A run of the same thread reaches it: the process holds no queue, and shares the sandbox's network.
    const run = await thread.exec("python3 -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8765/').status)\"");
    expect(run).toMatchObject({ exit_code: 0, stdout: "200\n" });
    const seen: ProcessLogMessage[] = [];
    for await (const m of thread.processes.logs(web.id)) {
      seen.push(m);
      if (m.type === "log" && m.text.includes('"GET / HTTP/1.1" 200')) break;
    }
    expect(seen.some((m) => m.type === "log" && m.stream === "stderr")).toBe(true);

    const cat = await thread.processes.start("cat");
    await thread.processes.stdin(cat.id, "echoed through stdin\n", { eof: true });
    expect(await thread.processes.wait(cat.id, { log_pattern: "echoed", timeout: 120 })).toMatchObject({ outcome: "log", line: "echoed through stdin" });

    const state = await expectJson<ThreadState>(stack.api("GET", `/v1/threads/${id}`), 200);
    expect(state.processes?.map((p) => p.id).sort()).toEqual([web.id, cat.id].sort());
    expect(await thread.processes.kill(web.id)).toMatchObject({ status: "killed", reason: "stopped" });
    const list = await thread.processes.list();
    expect(list.find((p) => p.id === web.id)).toMatchObject({ status: "killed", reason: "stopped" });
    const ended = [];
    for await (const m of thread.processes.logs(cat.id)) ended.push(m);
    expect(ended.at(-1)).toMatchObject({ type: "end", process: { id: cat.id, status: "exited", exit_code: 0 } });

    // The execution history has both processes' starts and ends beside the run, newest first.
    const { executions } = await expectJson<{ executions: ExecutionRecord[] }>(stack.api("GET", `/v1/threads/${id}/executions`), 200);
    expect(executions.map((r) => [r.kind, r.kind === "exec" ? "run" : r.id])).toEqual([["process", cat.id], ["exec", "run"], ["process", web.id]]);
    expect(executions[0]).toMatchObject({ status: "exited", exit_code: 0, started_at: cat.started_at });
    expect(executions[2]).toMatchObject({ status: "killed", error_code: "stopped", summary: `web: ${web.command}` });
    expect(executions[2]?.finished_at).not.toBeNull();
    const one = await expectJson<ExecutionRecord>(stack.api("GET", `/v1/threads/${id}/executions/${web.id}`), 200);
    expect(one).toEqual(executions[2]);
  });

  it("keeps another tenant out of a thread's processes", async () => {
    const id = await createThread(stack);
    const mine = new Threadbox({ baseUrl: stack.worker.url, apiKey: stack.tenants.a.key }).thread(id);
    const p = await mine.processes.start("sleep 1000");
    const res = await stack.api("DELETE", `/v1/threads/${id}/processes/${p.id}`, { auth: stack.tenants.b.key });
    expect(res.status).toBe(404);
    expect((await mine.processes.get(p.id)).status).toBe("running");
    await mine.processes.kill(p.id);
  });
});
