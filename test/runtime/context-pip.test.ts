import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cellOf, contextClient, newThread } from "./context-client.ts";
import { type RuntimeProcess, readEvents, startRuntime } from "./harness.ts";
import { type PackageIndex, startPackageIndex } from "./package-index.ts";

// `%pip install` in a Python context: the runtime's installer (as POST /packages) into the thread's venv, from a
// loopback index, recorded in the manifest, importable in the same cell.

let index: PackageIndex;
beforeAll(async () => {
  index = await startPackageIndex([
    { name: "tbx-hello", version: "1.0.0" },
    { name: "tbx-hello", version: "2.0.0" },
  ]);
});
afterAll(async () => {
  await index?.stop();
});

describe.each(["proot", "bwrap"])("%pip install in a context under %s", (isolation) => {
  let rt: RuntimeProcess;
  beforeAll(async () => {
    rt = await startRuntime({ ISOLATION: isolation, PIP_INDEX_URL: index.url });
  });
  afterAll(async () => {
    await rt?.stop();
  });
  const { runCall, run, create } = contextClient(() => rt);

  it("installs into the thread's venv, streams install events, records the manifest, and the package imports in the same cell", async () => {
    const thread = newThread("pip");
    const ctx = await create(thread);
    const code = "%pip install -q tbx-hello==1.0.0\nimport tbx_hello\ntbx_hello.hello()";
    const events = await readEvents(await runCall(thread, ctx.id, code, { accept: "sse", timeout: 120 }));
    const cell = cellOf(events);
    expect(cell.ok, JSON.stringify(cell.error)).toBe(true);
    expect(cell.result?.["text/plain"]).toBe("'hello from tbx-hello 1.0.0'");
    expect(cell.stdout).toContain("installed tbx-hello==1.0.0");
    const installs = events.flatMap((e) => (e.type === "install" ? [e.phase] : []));
    expect(installs[0]).toBe("start");
    expect(installs.at(-1)).toBe("done");
    const toml = await readFile(path.join(rt.workspaces, "acme", thread, "pyproject.toml"), "utf8");
    expect(toml).toContain("tbx-hello==1.0.0");
    // The state of the context is kept; the venv is the thread's (a run in it sees the package too).
    const res = await rt.json<{ text: string }>("POST", `/threads/acme/${thread}/run_python`, { code: "import tbx_hello; print(tbx_hello.__version__)" });
    expect(res.text).toBe("1.0.0");
  });

  it("takes !pip install as %pip install (the venv has no pip of its own)", async () => {
    const thread = newThread("bang-pip");
    const ctx = await create(thread);
    const cell = await run(thread, ctx.id, "!pip install -q tbx-hello==2.0.0\nimport tbx_hello\ntbx_hello.__version__", 120);
    expect(cell).toMatchObject({ ok: true, result: { "text/plain": "'2.0.0'" } });
    expect(cell.stdout).toContain("installed tbx-hello==2.0.0");
  });

  it("reports a failed install as the cell's MagicError on its line, and refuses anything but install", async () => {
    const thread = newThread("pip-fail");
    const ctx = await create(thread);
    const missing = await run(thread, ctx.id, "x = 1\n%pip install tbx-does-not-exist", 120);
    expect(missing.error).toMatchObject({ type: "MagicError", line: 2 });
    expect(missing.error?.value).toContain("%pip install failed");
    const other = await run(thread, ctx.id, "%pip uninstall tbx-hello");
    expect(other.error).toMatchObject({ type: "MagicError" });
    expect(other.error?.value).toContain("only `%pip install");
    const none = await run(thread, ctx.id, "%pip install -q");
    expect(none.error?.value).toContain("packages");
  });

  it("runs one install for a flood of pip frames a cell forges on the control channel, and answers malformed ones", async () => {
    const thread = newThread("pip-forged");
    const ctx = await create(thread);
    // The kernel runs as `python -c`: its globals (the reply queue) are __main__'s.
    const flood = [
      "import json, os, sys",
      "kernel = sys.modules['__main__']",
      "frame = lambda i: json.dumps({'type': 'pip', 'id': 'forged', 'request': 5000 + i, 'packages': ['tbx-hello==1.0.0'], 'pip_args': ''})",
      "os.write(3, ''.join(frame(i) + '\\n' for i in range(20)).encode())",
      "replies = [kernel._replies.get(timeout=100) for _ in range(20)]",
      "sorted({(r['ok'], r['message']) for r in replies})",
    ].join("\n");
    const events = await readEvents(await runCall(thread, ctx.id, flood, { accept: "sse", timeout: 120 }));
    const cell = cellOf(events);
    expect(cell.ok, JSON.stringify(cell.error)).toBe(true);
    expect(cell.result?.["text/plain"]).toBe("[(False, 'another %pip install is running in this context'), (True, 'installed tbx-hello==1.0.0')]");
    expect(events.filter((e) => e.type === "install" && e.phase === "start")).toHaveLength(1);

    const junk = [
      "import os, sys",
      "os.write(3, b'{\"type\": \"pip\", \"id\": \"x\", \"request\": \"nope\", \"packages\": \"notalist\", \"pip_args\": 5}\\n')",
      "r = sys.modules['__main__']._replies.get(timeout=100)",
      "(r['ok'], r['request'], 'packages' in r['message'])",
    ].join("\n");
    expect(await run(thread, ctx.id, junk, 120)).toMatchObject({ ok: true, result: { "text/plain": "(False, None, True)" } });
    expect(await run(thread, ctx.id, "1 + 1")).toMatchObject({ ok: true, result: { "text/plain": "2" } });
  });
});
