import { createHash, randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellResult,
  CellResultSchema,
  ContextInfoSchema,
  type ExecutionEvent,
  ExecResultSchema,
  type InstallResult,
  RunPythonResponseSchema,
} from "../../shared/src/index.ts";
import { SSE, checkTerminal, dataOf, expectJson, liveEvents, waitFor } from "../e2e/helpers.ts";
import { type PackageIndex, startPackageIndex } from "../runtime/package-index.ts";
import { hostAddress, listen } from "../security/network-cases.ts";
import { podman, selfTestReport } from "./container.ts";
import { type ImageStack, createThread, startImageStack } from "./image-stack.ts";
import { EVERY_LAYER_REPORT } from "../layers-held.ts";

// The production image started with the README's URL-fleet flags (--cap-add SYS_ADMIN --device /dev/net/tun
// --device /dev/fuse, secrets by environment) behind the real worker, used through the public API only: the README's
// examples, contexts, a GUI screenshot, files, a package install from an index on the host's loopback, what a
// sandbox's network reaches from inside the container, and finally `podman stop` mid-run.

let index: PackageIndex;
let stack: ImageStack;
beforeAll(async () => {
  index = await startPackageIndex([{ name: "tbx-image", version: "1.0.0" }]);
  // The container shares the host's network here, so the index's loopback address is the same inside it.
  stack = await startImageStack({ env: { PIP_INDEX_URL: index.url } });
});
afterAll(async () => {
  await stack?.stop();
  await index?.stop();
});

const run = async (thread: string, route: string, body: unknown) =>
  expectJson(stack.api("POST", `/v1/threads/${thread}/${route}`, { body }), 200);

describe("the image behind the worker", () => {
  it("holds every isolation layer the README's flags buy, in the self-test, in /health and through the worker", async () => {
    const health = await expectJson<{ ok: boolean; runtimes: { healthy: number } }>(fetch(`${stack.worker.url}/v1/health`), 200);
    expect(health).toMatchObject({ ok: true, runtimes: { healthy: 1 } });
    const res = await stack.runtime("GET", "/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { isolation: string; layers: Record<string, unknown>; degraded: boolean };
    expect(body).toMatchObject({ isolation: "proot", degraded: false, layers: EVERY_LAYER_REPORT });
    // The entrypoint's self-test said the same before the server started, and summed it up for the operator.
    const logs = await stack.container.logs();
    expect(selfTestReport(logs).layers).toMatchObject(EVERY_LAYER_REPORT);
    expect(logs).toContain("threadbox entrypoint: required layers hold (proot)");
    expect(logs).not.toContain("not held:");
  });

  it("runs under tini as PID 1, with the server its child", async () => {
    const ps = await podman(["exec", stack.container.name, "ps", "-o", "pid=,ppid=,args=", "-e"]);
    const rows = ps.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/));
    expect(rows.find((r) => r[0] === "1")?.slice(2, 3)).toEqual(["/usr/bin/tini"]);
    const server = rows.find((r) => r.slice(2).join(" ") === "node --import tsx runtime-container/src/main.ts");
    expect(server?.[1]).toBe("1");
  });

  it("runs the README's run_python and run_code examples", async () => {
    const thread = await createThread(stack, `demo-${randomUUID().slice(0, 8)}`);
    const calc = RunPythonResponseSchema.parse(
      await run(thread, "run_python", { code: "from calc import add\nprint(add(2, 3))", files: { "calc.py": "def add(a, b):\n    return a + b\n" } }),
    );
    expect(calc).toMatchObject({ is_error: false, metadata: { stdout: "5\n" } });

    const sandbox = randomUUID();
    await createThread(stack, sandbox);
    const tool = RunPythonResponseSchema.parse(
      await expectJson(
        stack.api("POST", "/v1/tools/run_python", { body: { sandbox_id: sandbox, code: 'name = input()\nprint(f"Hello {name}!")', stdin: "Alice\n" } }),
        200,
      ),
    );
    expect(tool.metadata.stdout).toBe("Hello Alice!\n");

    const js = ExecResultSchema.parse(await run(thread, "run_code", { language: "javascript", code: "console.log(await Promise.resolve(42))" }));
    expect(js).toMatchObject({ exit_code: 0, stdout: "42\n" });
    const data = RunPythonResponseSchema.parse(
      await run(thread, "run_python", { code: "import numpy as np, pandas as pd, matplotlib\nprint(int(pd.Series(np.arange(5)).sum()), matplotlib.get_backend())" }),
    );
    expect(data.metadata.stdout).toBe("10 agg\n");
  });

  it("keeps state in a Python and a JavaScript context", async () => {
    const thread = await createThread(stack, `ctx-${randomUUID().slice(0, 8)}`);
    const cell = async (ctx: string, code: string): Promise<CellResult> => CellResultSchema.parse(await run(thread, `contexts/${ctx}/run`, { code }));
    const py = ContextInfoSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/contexts`, { body: { language: "python" } }), 201));
    await cell(py.id, 'import pandas as pd\ndf = pd.DataFrame({"a": [1, 2]})');
    expect(await cell(py.id, "df.a.sum()")).toMatchObject({ ok: true, result: { "text/plain": "3" }, state: "preserved" });
    const js = ContextInfoSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/contexts`, { body: { language: "javascript" } }), 201));
    await cell(js.id, "let n = 20\nconst add = (x) => x + n");
    expect(await cell(js.id, "await new Promise(r => setTimeout(r, 10))\nadd(22)")).toMatchObject({ ok: true, result: { "text/plain": "42" } });
  });

  it("takes the README's Tk screenshot, with no font-cache complaints on stderr", async () => {
    const thread = await createThread(stack, `gui-${randomUUID().slice(0, 8)}`);
    const code =
      'import tkinter as tk\nroot = tk.Tk()\ntk.Label(root, text="hello", font=("Helvetica", 40)).pack()\nroot.after(1000, root.destroy)\nroot.mainloop()';
    const r = RunPythonResponseSchema.parse(await run(thread, "run_python", { capture_screenshot: true, code }));
    expect(r.is_error).toBe(false);
    const shot = r.displays?.find((d) => d.source === "screenshot");
    const png = Buffer.from(shot?.data ?? "", "base64");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1280, 800]);
    expect(r.metadata.stderr).toBe("");
  });

  it("round-trips a file's bytes through the file API and the sandbox", async () => {
    const thread = await createThread(stack, `files-${randomUUID().slice(0, 8)}`);
    const bytes = randomBytes(200_000);
    const put = await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/data/blob.bin`, { raw: bytes }), 201);
    expect(put).toEqual({ path: "data/blob.bin", size: bytes.length });
    const code = "import hashlib, pathlib\nd = pathlib.Path('data/blob.bin').read_bytes()\nprint(hashlib.sha256(d).hexdigest())\npathlib.Path('out.bin').write_bytes(d[::-1])";
    const r = RunPythonResponseSchema.parse(await run(thread, "run_python", { code }));
    expect(r.metadata.stdout).toBe(`${createHash("sha256").update(bytes).digest("hex")}\n`);
    const out = await stack.api("GET", `/v1/threads/${thread}/files/out.bin`);
    expect(Buffer.from(await out.arrayBuffer()).equals(Buffer.from(bytes).reverse())).toBe(true);
    await expectJson(stack.api("DELETE", `/v1/threads/${thread}/files/data/blob.bin`), 200);
    expect((await stack.api("GET", `/v1/threads/${thread}/files/data/blob.bin`)).status).toBe(404);
  });

  it("installs a package from an index on the host's loopback, then imports it", async () => {
    const thread = await createThread(stack, `pkg-${randomUUID().slice(0, 8)}`);
    const installed = await expectJson<InstallResult>(stack.api("POST", `/v1/threads/${thread}/packages`, { body: { packages: ["tbx-image"] } }), 200);
    expect(installed).toMatchObject({ ok: true, installed: ["tbx-image==1.0.0"] });
    expect(index.downloads("tbx-image")).toBeGreaterThan(0);
    const r = RunPythonResponseSchema.parse(await run(thread, "run_python", { code: "import tbx_image\nprint(tbx_image.hello())" }));
    expect(r.metadata.stdout).toBe("hello from tbx-image 1.0.0\n");
  });
});

// The container shares the host's network here (--network host): the container's own address is the host's, and the
// index and the runtime listen on its loopback. A sandbox reaches the index only at the port PIP_INDEX_URL names (the
// runtime opens exactly that one, at 127.0.0.1 in the sandbox), nothing else of the container's loopback, and not the
// container's own address, which the container itself reaches.
describe("a sandbox's network inside the container", () => {
  const PROBE = `
import errno, json, socket, sys, urllib.request
def probe(target):
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        return "connected"
    except OSError as e:
        return errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout"
out = {t: probe(t) for t in sys.argv[2:]}
out["index"] = urllib.request.urlopen(sys.argv[1], timeout=10).status
print(json.dumps(out))
`;

  it("reaches the host-loopback package index only through the allowed port, and refuses the container's own address", async () => {
    const own = hostAddress();
    expect(own, "the machine has a non-loopback IPv4 address").not.toBeNull();
    const listener = await listen(own as string);
    try {
      const thread = await createThread(stack, `net-${randomUUID().slice(0, 8)}`);
      const indexPort = new URL(index.url).port;
      const runtimePort = stack.container.port;
      const targets = [`127.0.0.1:${indexPort}`, `127.0.0.1:${runtimePort}`, `10.0.2.2:${runtimePort}`, `${own}:${listener.port}`];
      const argv = [index.url, ...targets].map((a) => `'${a}'`).join(" ");
      const r = ExecResultSchema.parse(await run(thread, "exec", { command: `python3 - ${argv}`, stdin: PROBE }));
      expect(r.exit_code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        // The allowed path: 127.0.0.1:<index port>, sent to slirp4netns's gateway and on to the host's loopback.
        [targets[0] as string]: "connected",
        index: 200,
        // The runtime's port: at 127.0.0.1 it is the sandbox's own (empty) loopback; by the gateway it is refused.
        [targets[1] as string]: "ECONNREFUSED",
        [targets[2] as string]: "EHOSTUNREACH",
        // The container's own address: refused by the egress rules (admin-prohibited), not merely closed.
        [targets[3] as string]: "EHOSTUNREACH",
      });
      expect(listener.accepted).toBe(0);
      // The container itself (outside any sandbox) reaches that address: the refusal above is the sandbox's rules.
      const control = await podman(["exec", stack.container.name, "python3", "-c", `import socket; socket.create_connection(("${own}", ${listener.port}), timeout=5).close(); print("connected")`]);
      expect(control.stdout.trim(), control.stderr).toBe("connected");
      expect(await waitFor(() => listener.accepted === 1, 5000)).toBe(true);
    } finally {
      listener.server.close();
    }
  });
});

describe("podman stop (SIGTERM to tini, which passes it on; SIGKILL after the grace)", () => {
  let terminal: ExecutionEvent | undefined;
  let stopped: { exitCode: number; oomOrKilled: boolean } | undefined;
  let logs = "";

  it("ends the in-flight run (no hang, no made-up success), and the runtime is gone before the grace runs out", async () => {
    const thread = await createThread(stack, `stop-${randomUUID().slice(0, 8)}`);
    const res = await stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "echo started; sleep 600", timeout: 300 }, accept: SSE });
    expect(res.status).toBe(200);
    const events: ExecutionEvent[] = [];
    let stopping: Promise<{ exitCode: number; oomOrKilled: boolean }> | undefined;
    for await (const { event } of liveEvents(res)) {
      events.push(event);
      // podman's default grace (10 s), as `docker stop`'s: SIGTERM to tini, SIGKILL (exit 137) when it runs out.
      if (event.type === "stdout" && !stopping) stopping = stack.container.stop(10);
    }
    stopped = await stopping;
    logs = await stack.container.logs();
    expect(dataOf(events, "stdout")).toBe("started\n");
    terminal = checkTerminal(events);
    // The run did not finish: exactly one terminal event, the runtime's own error from its shutdown, never a result.
    expect(terminal, JSON.stringify(terminal)).toMatchObject({ type: "error", code: "RUNTIME_UNAVAILABLE", message: expect.stringMatching(/shutting down/) });
    expect(events.filter((e) => e.type === "result")).toEqual([]);
    // Never 137, the SIGKILL at the end of the grace.
    expect(stopped?.exitCode, logs).not.toBe(137);
    expect(stopped?.oomOrKilled).toBe(false);
  });

  // While an execa child with `cleanup` is alive (a thread's Xvfb, started by the screenshot test above), signal-exit
  // re-raises SIGTERM; the runtime's own handler must still finish its shutdown and exit 0.
  it("exits 0 after its own shutdown even while a thread's display is up", () => {
    expect(stopped?.exitCode, logs).toBe(0);
  });
});
