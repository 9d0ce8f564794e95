import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RuntimeProcess, TEST_SECRET, processesMatching, startRuntime } from "./harness.ts";
import { logText, processClient } from "./process-client.ts";

/** Background processes under both real backends: the same sandbox, limits and tree kill as runs. */
describe.each(["proot", "bwrap"])("background processes (%s)", (isolation) => {
  let rt: RuntimeProcess;
  let short: RuntimeProcess;
  beforeAll(async () => {
    [rt, short] = await Promise.all([
      startRuntime({ ISOLATION: isolation, PROCESS_MAX_PER_THREAD: "3" }),
      startRuntime({ ISOLATION: isolation, PROCESS_LIFETIME_S: "1" }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([rt?.stop(), short?.stop()]);
  });
  const t = (name: string) => processClient(rt, "acme", `${isolation}-${name}`);

  it("starts, lists, gets and stops a process; another thread sees none of it", async () => {
    const p = t("basic");
    const started = await p.start({ command: "sleep 1000", name: "sleeper" });
    expect(started).toMatchObject({ id: expect.stringMatching(/^proc_/), status: "running", name: "sleeper", command: "sleep 1000" });
    expect((await p.list()).map((x) => x.id)).toEqual([started.id]);
    expect(await p.get(started.id)).toMatchObject({ status: "running", exit_code: null, ended_at: null });
    const other = await rt.call("GET", `/threads/acme/${isolation}-other/processes/${started.id}`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { code: "PROCESS_NOT_FOUND" } });
    const del = await rt.call("DELETE", `/threads/acme/${isolation}-other/processes/${started.id}`);
    expect(del.status).toBe(404);
    expect((await p.get(started.id)).status).toBe("running");
    const stopped = await p.stop(started.id);
    expect(stopped).toMatchObject({ status: "killed", reason: "stopped", exit_code: 143 });
    expect(stopped.ended_at).not.toBeNull();
  });

  it("runs with its cwd, env and limits, in the secret-free environment of runs", async () => {
    const p = t("env");
    await rt.json("POST", `/threads/acme/${isolation}-env/exec`, { command: "mkdir -p sub" });
    const { id } = await p.start({ command: 'pwd; echo "$FOO"; ulimit -n; env | grep -c "$SECRET_PART" || true', cwd: "sub", env: { FOO: "bar", SECRET_PART: TEST_SECRET.slice(0, 12) }, limits: { open_files: 64 } });
    expect((await p.wait(id, { log_pattern: "never", timeout: 60 })).process).toMatchObject({ status: "exited", exit_code: 0 });
    // The count is 1: the SECRET_PART variable itself, never the runtime's HMAC secret.
    expect(logText(await p.logs(id))).toMatch(/^\/(workspace\/)?sub\nbar\n64\n1\n$/);
    const missing = await rt.call("POST", `/threads/acme/${isolation}-env/processes`, { body: { command: "true", cwd: "nope" } });
    expect(missing.status).toBeGreaterThanOrEqual(400);
    expect(missing.status).toBeLessThan(500);
  });

  it("answers a process this runtime does not know as PROCESS_NOT_FOUND (after a restart: lost)", async () => {
    const res = await rt.call("GET", `/threads/acme/${isolation}-basic/processes/proc_0123456789abcdef0123`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "PROCESS_NOT_FOUND" } });
  });

  it("reports the exit code of a process that ends by itself", async () => {
    const p = t("exit");
    const { id } = await p.start({ command: "echo bye; exit 7" });
    const done = await p.wait(id, { log_pattern: "never printed", timeout: 60 });
    expect(done.outcome).toBe("exited");
    expect(done.process).toMatchObject({ status: "exited", exit_code: 7, reason: null });
    expect(logText(await p.logs(id))).toBe("bye\n");
    // SSE of an ended process: the entry (id: seq), then the end, and the stream closes.
    const sse = await rt.call("GET", `/threads/acme/${isolation}-exit/processes/${id}/logs`, { accept: "sse" });
    expect(sse.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(await sse.text()).toMatch(/^id: 0\nevent: log\ndata: .*"text":"bye\\n".*\n\nevent: end\ndata: .*"exit_code":7.*\n\n$/);
  });

  it("streams logs from the retained tail and resumes after a seq", async () => {
    const p = t("logs");
    const { id } = await p.start({ command: `python3 -u -c "import time\nfor i in range(50):\n    print('line', i)\n    time.sleep(0.01)"` });
    const all = await p.logs(id);
    expect(all.at(-1)).toMatchObject({ type: "end", process: { status: "exited", exit_code: 0 } });
    expect(logText(all)).toBe(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(""));
    const entries = all.filter((m) => m.type === "log");
    const middle = entries[Math.floor(entries.length / 2)] as { seq: number };
    const rest = await p.logs(id, middle.seq);
    expect(rest.filter((m) => m.type === "log")).toEqual(entries.filter((e) => e.seq > middle.seq));
  });

  it("writes to stdin and closes it", async () => {
    const p = t("stdin");
    const { id } = await p.start({ command: "cat" });
    expect(await p.stdin(id, "hello from stdin\n")).toMatchObject({ written: 17 });
    expect(await p.wait(id, { log_pattern: "hello from", timeout: 60 })).toMatchObject({ outcome: "log", line: "hello from stdin" });
    await p.stdin(id, "", true);
    expect((await p.wait(id, { log_pattern: "never", timeout: 60 })).process).toMatchObject({ status: "exited", exit_code: 0 });
    const late = await rt.call("POST", `/threads/acme/${isolation}-stdin/processes/${id}/stdin`, { body: { data: "x" } });
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ error: { code: "PROCESS_NOT_RUNNING" } });
  });

  it("stops the whole tree: children that ignore TERM, setsid and double forks", async () => {
    const p = t("tree");
    const marker = `tb-proc-tree-${isolation}-${process.pid}`;
    const ignore = `python3 -c "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(1000)" ${marker}`;
    const { id } = await p.start({ command: `${ignore} & setsid ${ignore} & (${ignore} &) ; wait` });
    const up = await p.logs(id, -1, (m) => (logText(m).match(/up/g) ?? []).length >= 3);
    expect(logText(up).match(/up/g)).toHaveLength(3);
    expect((await processesMatching(marker)).length).toBeGreaterThanOrEqual(3);
    expect(await p.stop(id)).toMatchObject({ status: "killed", reason: "stopped" });
    expect(await processesMatching(marker)).toEqual([]);
  });

  it("refuses a process over the per-thread cap with a stable code", async () => {
    const p = t("cap");
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await p.start({ command: "sleep 1000" })).id);
    const over = await rt.call("POST", `/threads/acme/${isolation}-cap/processes`, { body: { command: "sleep 1" } });
    expect(over.status).toBe(429);
    expect(await over.json()).toMatchObject({ error: { code: "TOO_MANY_PROCESSES", details: { max: 3 } } });
    await p.stop(ids[0] as string);
    const again = await p.start({ command: "sleep 1000" });
    for (const id of [...ids.slice(1), again.id]) await p.stop(id as string);
  });

  it("stops a process at its lifetime cap and says why", async () => {
    const p = processClient(short, "acme", `${isolation}-life`);
    const { id } = await p.start({ command: "sleep 1000" });
    const done = await p.wait(id, { log_pattern: "never", timeout: 120 });
    expect(done).toMatchObject({ outcome: "exited", process: { status: "killed", reason: "lifetime" } });
  });

  it('waits for a port inside a network "none" thread, where a run reaches it', async () => {
    await rt.json("POST", `/threads/acme/${isolation}-port`, { network: "none" });
    const p = t("port");
    const { id } = await p.start({ command: "python3 -m http.server 8123 --bind 127.0.0.1" });
    expect(await p.wait(id, { port: 8123, timeout: 120 })).toMatchObject({ outcome: "port", process: { status: "running" } });
    const run = await rt.json<{ exit_code: number; stdout: string }>("POST", `/threads/acme/${isolation}-port/exec`, {
      command: "python3 -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8123/').status)\"",
    });
    expect(run).toMatchObject({ exit_code: 0, stdout: "200\n" });
    // Nothing listens on another port: the wait says it timed out.
    expect(await p.wait(id, { port: 8124, timeout: 1 })).toMatchObject({ outcome: "timeout", process: { status: "running" } });
    await p.stop(id);
  });

  it("ends a thread's processes with its release and its deletion", async () => {
    const p = t("release");
    const { id } = await p.start({ command: "sleep 1000" });
    expect(await rt.json("POST", `/threads/acme/${isolation}-release/release`)).toMatchObject({ processes: 1 });
    expect(await p.get(id)).toMatchObject({ status: "killed", reason: "released" });
    const q = t("delete");
    await q.start({ command: "sleep 1000" });
    await rt.json("DELETE", `/threads/acme/${isolation}-delete`);
    expect(await q.list()).toEqual([]);
  });
});
