import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CellResultSchema, ContextInfoSchema } from "../../shared/src/index.ts";
import { cellOf, contextClient, failure, newThread } from "./context-client.ts";
import { type RuntimeProcess, readEvents, startRuntime } from "./harness.ts";

// Restarting a context (same id and settings, fresh state), the execution counter, the settings in its info, and a
// cell's own environment — under both sandbox backends.

describe.each(["proot", "bwrap"])("contexts under %s: restart, counter, per-cell env", (isolation) => {
  let rt: RuntimeProcess;
  beforeAll(async () => {
    rt = await startRuntime({ ISOLATION: isolation, KILL_GRACE_MS: "2000" });
  });
  afterAll(async () => {
    await rt?.stop();
  });
  const { contextsPath, runCall, run, value, info, create } = contextClient(() => rt);
  const restart = async (thread: string, ctx: string) =>
    ContextInfoSchema.parse(await rt.json("POST", `${contextsPath(thread)}/${ctx}/restart`, {}));

  it("restarts with the same id, cwd, env and limits, empty state and the counter from 1", async () => {
    const thread = newThread("restart");
    const first = await create(thread);
    await value(thread, first.id, "import os\nos.makedirs('sub', exist_ok=True)");
    const ctx = await create(thread, { cwd: "sub", env: { GREETING: "hi", OTHER: "secret-value" }, limits: { open_files: 64 } });
    expect(ctx).toMatchObject({ execution_count: 0, env: ["GREETING", "OTHER"] });
    expect(ctx.cwd).toMatch(/\/sub$/);
    expect(JSON.stringify(ctx)).not.toContain("secret-value");

    const one = await run(thread, ctx.id, "import os, resource\nx = 41\npid = os.getpid()");
    expect(one).toMatchObject({ ok: true, execution_count: 1 });
    const two = await run(thread, ctx.id, "x + 1");
    expect(two).toMatchObject({ ok: true, execution_count: 2, result: { "text/plain": "42" } });
    await value(thread, ctx.id, "pid");
    expect((await info(thread, ctx.id)).execution_count).toBe(3);

    const restarted = await restart(thread, ctx.id);
    expect(restarted).toMatchObject({ id: ctx.id, language: "python", status: "idle", execution_count: 0, cwd: ctx.cwd, env: ["GREETING", "OTHER"], cells: 3 });

    const after = await run(thread, ctx.id, "import os, resource\n('x' in globals(), os.getcwd() == " + JSON.stringify(ctx.cwd) + ", os.environ['GREETING'], resource.getrlimit(resource.RLIMIT_NOFILE)[0])");
    expect(after).toMatchObject({ ok: true, execution_count: 1, state: "preserved" });
    const [hasX, inCwd, greeting, nofile] = (after.result?.["text/plain"] ?? "").replace(/[()' ]/g, "").split(",");
    expect({ hasX, inCwd, greeting, nofile }).toEqual({ hasX: "False", inCwd: "True", greeting: "hi", nofile: "64" });
  });

  it("restart kills a running cell, which answers Restarted; the next cell has fresh state", async () => {
    const thread = newThread("restart-busy");
    const ctx = await create(thread);
    await value(thread, ctx.id, "kept = 1");
    const running = runCall(thread, ctx.id, "import time\nprint('started', flush=True)\ntime.sleep(120)", { accept: "sse", timeout: 200 });
    const res = await running;
    const events = readEvents(res);
    // Bounded wait for the cell to be running.
    for (let i = 0; i < 100 && (await info(thread, ctx.id)).status !== "busy"; i++) await new Promise((r) => setTimeout(r, 100));
    const restarting = rt.call("POST", `${contextsPath(thread)}/${ctx.id}/restart`, { body: {} });
    const cell = cellOf(await events);
    expect(cell).toMatchObject({ ok: false, state: "restarted", error: { type: "Restarted" } });
    const answer = await restarting;
    expect(answer.status).toBe(200);
    expect(ContextInfoSchema.parse(await answer.json())).toMatchObject({ status: "idle", execution_count: 0 });
    expect(await value(thread, ctx.id, "'kept' in globals()")).toBe("False");
  });

  it("answers CONTEXT_NOT_FOUND for a restart of an unknown context", async () => {
    const thread = newThread("restart-404");
    await create(thread);
    expect(await failure(await rt.call("POST", `${contextsPath(thread)}/ctx_nothere/restart`, { body: {} }), 404)).toBe("CONTEXT_NOT_FOUND");
  });

  it("applies a Python cell's env to that cell only (its subprocesses included), over the context's own", async () => {
    const thread = newThread("cell-env");
    const ctx = await create(thread, { env: { GREETING: "hi" } });
    const code = "import os, subprocess\n(os.environ.get('ONLY'), os.environ['GREETING'], subprocess.run(['sh', '-c', 'echo $ONLY'], capture_output=True, text=True).stdout.strip())";
    const res = await runCall(thread, ctx.id, code, { fields: { env: { ONLY: "here", GREETING: "cell" } } });
    const own = CellResultSchema.parse(await res.json());
    expect(own.result?.["text/plain"]).toBe("('here', 'cell', 'here')");
    expect(await value(thread, ctx.id, code)).toBe("(None, 'hi', '')");
  });

  it("applies a JavaScript cell's env to that cell only", async () => {
    const thread = newThread("cell-env-js");
    const ctx = await create(thread, { language: "javascript", env: { GREETING: "hi" } });
    const code = "[process.env.ONLY ?? null, process.env.GREETING]";
    const res = await runCall(thread, ctx.id, code, { fields: { env: { ONLY: "here", GREETING: "cell" } } });
    expect(CellResultSchema.parse(await res.json()).result?.["text/plain"]).toBe("[ 'here', 'cell' ]");
    expect(await value(thread, ctx.id, code)).toBe("[ null, 'hi' ]");
  });

  it("refuses a cell env with a bad name", async () => {
    const thread = newThread("cell-env-bad");
    const ctx = await create(thread);
    expect(await failure(await runCall(thread, ctx.id, "1", { fields: { env: { "BAD-NAME": "x" } } }), 400)).toBe("VALIDATION_FAILED");
  });
});
