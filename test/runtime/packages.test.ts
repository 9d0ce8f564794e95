import { randomUUID } from "node:crypto";
import { lstat, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, type Socket, createServer } from "node:net";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ExecResult,
  ExecResultSchema,
  type ExecutionEvent,
  type InstallResult,
  InstallResultSchema,
  type RunPythonParamsInput,
  type RunPythonResponse,
  RunPythonResponseSchema,
  parseEvent,
  parseSseStream,
} from "../../shared/src/index.ts";
import { type RuntimeProcess, processesMatching, readEvents, startRuntime } from "./harness.ts";
import { type NpmRegistry, startNpmRegistry } from "./npm-registry.ts";
import { type PackageIndex, startPackageIndex } from "./package-index.ts";

// Issue 4: per-thread venvs on the Debian base, installs from a loopback index (no PyPI here), reports, the shared
// per-tenant cache, isolation between threads, system mode, and recovery of a deleted or interrupted venv.

let index: PackageIndex;
let registry: NpmRegistry;
let rt: RuntimeProcess;
beforeAll(async () => {
  index = await startPackageIndex([
    { name: "tbx-hello", version: "1.0.0" },
    { name: "tbx-hello", version: "2.0.0" },
    { name: "tbx-app", version: "0.1.0", requires: ["tbx-hello<2"] },
    { name: "tbx-cache", version: "1.0.0" },
    { name: "tbx-only-a", version: "1.0.0" },
    // A distribution whose module is named differently, like the real python-docx (`import docx`).
    { name: "python-docx", version: "0.1.0", module: "docx" },
  ]);
  registry = await startNpmRegistry({
    local: [{ name: "is-number", version: "7.0.0", files: { "index.js": "module.exports = (n) => typeof n === 'number';\n" } }],
  });
  rt = await startRuntime({ PIP_INDEX_URL: index.url, NPM_REGISTRY_URL: registry.url });
});
afterAll(async () => {
  await rt?.stop();
  await index?.stop();
  await registry?.stop();
});

const newThread = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const venvDir = (runtime: RuntimeProcess, thread: string) => path.join(runtime.root, "state", "venvs", "acme", thread);
const MARK = ".threadbox-installing";
const exists = async (p: string) => (await lstat(p).catch(() => null)) !== null;

async function runPython(thread: string, params: RunPythonParamsInput, runtime = rt): Promise<RunPythonResponse> {
  return RunPythonResponseSchema.parse(await runtime.json("POST", `/threads/acme/${thread}/run_python`, params));
}

/** run_python over SSE: every event, and the response the stream ended with. */
async function streamPython(thread: string, params: RunPythonParamsInput) {
  const events = await readEvents(await rt.call("POST", `/threads/acme/${thread}/run_python`, { body: params, accept: "sse" }));
  const last = events.at(-1);
  if (last?.type !== "result" || last.result.kind !== "run_python") throw new Error(`unexpected ending: ${JSON.stringify(last)}`);
  return { events, response: last.result.value };
}

async function installPackages(thread: string, body: Record<string, unknown>): Promise<InstallResult> {
  return InstallResultSchema.parse(await rt.json("POST", `/threads/acme/${thread}/packages`, body));
}

async function exec(thread: string, command: string): Promise<ExecResult> {
  return ExecResultSchema.parse(await rt.json("POST", `/threads/acme/${thread}/exec`, { command }));
}

const installEvents = (events: ExecutionEvent[]) => events.flatMap((e) => (e.type === "install" ? [e] : []));

/** The thread's pyproject.toml, parsed by a real TOML parser (so a malformed manifest fails here too). */
async function manifest(thread: string): Promise<{ project?: { dependencies?: string[] }; tool?: { threadbox?: { resolved?: string[] } } }> {
  const toml = await readFile(path.join(rt.workspaces, "acme", thread, "pyproject.toml"), "utf8");
  const parsed = await execa("/usr/bin/python3", ["-c", "import json, sys, tomllib\nprint(json.dumps(tomllib.loads(sys.stdin.read())))"], {
    input: toml,
  });
  return JSON.parse(parsed.stdout);
}

const HELLO = "import tbx_hello\nprint(tbx_hello.hello())";

describe("the base environment", () => {
  it("imports numpy, pandas and matplotlib in a fresh thread without installing anything", async () => {
    const before = index.requests.length;
    const r = await runPython(newThread("base"), {
      code: "import numpy, pandas, matplotlib\nprint(numpy.__file__)\nprint(pandas.__version__, matplotlib.__version__)",
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.packages_installed).toEqual([]);
    expect(r.metadata.virtual_env).toBe("/.venv");
    // Debian's copies, through the venv's system site packages.
    expect(r.metadata.stdout).toMatch(/^\/usr\/lib\/python3\/dist-packages\/numpy\//);
    expect(index.requests.slice(before)).toEqual([]);
  });

  it("saves a matplotlib plot as a PNG (the workspace checklist's plot)", async () => {
    const thread = newThread("plot");
    const r = await runPython(thread, {
      code: "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [4, 5, 6])\nplt.savefig('/plot.png')",
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.files_created).toContain("plot.png");
    const res = await rt.call("GET", `/threads/acme/${thread}/files/plot.png`);
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});

describe("run_python `packages`", () => {
  it("installs the newest version matching a constraint, streams the install before the output, and records it", async () => {
    const thread = newThread("constraint");
    const { events, response: r } = await streamPython(thread, { code: HELLO, packages: ["tbx-hello>=2"] });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.text).toBe("hello from tbx-hello 2.0.0");
    expect(r.metadata.packages_installed).toEqual(["tbx-hello==2.0.0"]);

    const installs = installEvents(events);
    expect(installs[0]).toMatchObject({ phase: "start", packages: ["tbx-hello>=2"] });
    expect(installs.at(-1)).toMatchObject({ phase: "done", packages: ["tbx-hello==2.0.0"] });
    expect(installs.slice(1, -1).every((e) => e.phase === "progress")).toBe(true);
    const done = events.findIndex((e) => e.type === "install" && e.phase === "done");
    const firstOut = events.findIndex((e) => e.type === "stdout");
    expect(firstOut).toBeGreaterThan(done);

    const m = await manifest(thread);
    expect(m.project?.dependencies).toContain("tbx-hello>=2");
    expect(m.tool?.threadbox?.resolved).toContain("tbx-hello==2.0.0");
    // Bookkeeping, not a file the code created.
    expect(r.metadata.files_created).not.toContain("pyproject.toml");
    const state = await rt.json<{ packages: string[] }>("GET", `/threads/acme/${thread}`);
    expect(state.packages).toEqual(["tbx-hello==2.0.0"]);
  });

  it("resolves a dependency's own constraint", async () => {
    const r = await runPython(newThread("deps"), {
      code: "import importlib.metadata as m\nimport tbx_app, tbx_hello\nprint(m.version('tbx-hello'))",
      packages: ["tbx-app"],
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.packages_installed).toContain("tbx-app==0.1.0");
    // tbx-app requires tbx-hello<2, though 2.0.0 is the newest.
    expect(r.metadata.stdout).toBe("1.0.0\n");
  });

  it("fails with PACKAGE_INSTALL_FAILED and pip's message, and does not run the code", async () => {
    const thread = newThread("missing");
    const { events, response: r } = await streamPython(thread, {
      code: "open('ran.txt', 'w').write('ran')\nprint('the code ran')",
      packages: ["tbx-missing"],
    });
    expect(r.is_error).toBe(true);
    expect(r.metadata.error_code).toBe("PACKAGE_INSTALL_FAILED");
    expect(r.text).toContain("No matching distribution");
    expect(r.metadata.packages_installed).toEqual([]);
    expect(r.metadata.stdout).toBe("");
    expect(events.some((e) => e.type === "stdout")).toBe(false);
    expect(installEvents(events).at(-1)).toMatchObject({ phase: "error" });
    expect(index.requests).toContain("/simple/tbx-missing/");
    expect(await exists(path.join(rt.workspaces, "acme", thread, "ran.txt"))).toBe(false);
    expect((await manifest(thread)).tool?.threadbox?.resolved ?? []).toEqual([]);
  });

  it("installs a requirements_file written by `files`", async () => {
    const thread = newThread("reqfile");
    const r = await runPython(thread, {
      code: HELLO,
      files: { "requirements.txt": "tbx-hello==1.0.0\n# comment\n" },
      options: { requirements_file: "requirements.txt" },
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.text).toBe("hello from tbx-hello 1.0.0");
    expect(r.metadata.packages_installed).toEqual(["tbx-hello==1.0.0"]);
    expect((await manifest(thread)).project?.dependencies).toEqual(["tbx-hello==1.0.0"]);
  });

  it("passes pip_args to pip (--no-deps leaves the dependency out)", async () => {
    const r = await runPython(newThread("nodeps"), {
      code:
        "import importlib.metadata as m\n" +
        "print(sorted(d.metadata['Name'] for d in m.distributions() if d.metadata['Name'].startswith('tbx-')))\n" +
        "import tbx_hello",
      packages: ["tbx-app"],
      options: { pip_args: "--no-deps" },
    });
    expect(r.metadata.packages_installed).toEqual(["tbx-app==0.1.0"]);
    expect(r.metadata.stdout).toBe("['tbx-app']\n");
    expect(r.is_error).toBe(true);
    expect(r.metadata.error_code).toBe("MODULE_NOT_FOUND");
  });
});

describe("auto_install", () => {
  it("installs the distribution mapped from a missing import and runs the code again", async () => {
    const thread = newThread("auto");
    const before = index.requests.length;
    const r = await runPython(thread, { code: "import docx\nprint(docx.hello())", options: { auto_install: true } });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.text).toContain("auto_install");
    expect(r.metadata.stdout).toBe("hello from python-docx 0.1.0\n");
    expect(r.metadata.packages_installed).toEqual(["python-docx==0.1.0"]);
    const asked = index.requests.slice(before);
    expect(asked).toContain("/simple/python-docx/");
    expect(asked).not.toContain("/simple/docx/");
  });

  it("installs nothing for a typo of a standard-library module, and names the module meant", async () => {
    const before = index.requests.length;
    const r = await runPython(newThread("typo"), { code: "import dataclass", options: { auto_install: true } });
    expect(r.is_error).toBe(true);
    expect(r.metadata.error_code).toBe("MODULE_NOT_FOUND");
    expect(r.metadata.packages_installed).toEqual([]);
    expect(r.text).toContain("dataclasses");
    expect(index.requests.slice(before)).toEqual([]);
  });
});

describe("threads of a tenant", () => {
  it("share the download cache: a second thread's install downloads nothing", async () => {
    const a = await installPackages(newThread("cache-a"), { packages: ["tbx-cache==1.0.0"] });
    expect(a).toMatchObject({ ok: true, language: "python", installed: ["tbx-cache==1.0.0"] });
    expect(index.downloads("tbx-cache")).toBe(1);

    const res = await rt.call("POST", `/threads/acme/${newThread("cache-b")}/packages`, {
      body: { packages: ["tbx-cache==1.0.0"] },
      accept: "sse",
    });
    const events = await readEvents(res);
    const last = events.at(-1);
    expect(last).toMatchObject({ type: "result", result: { kind: "install", value: { ok: true, installed: ["tbx-cache==1.0.0"] } } });
    expect(index.downloads("tbx-cache")).toBe(1);
    // pip's own word for a wheel served from its HTTP cache.
    const pipSaid = installEvents(events).map((e) => e.message).join("");
    expect(pipSaid).toMatch(/Using cached \S*tbx_cache-1\.0\.0-py3-none-any\.whl/);
  });

  it("never see each other's packages", async () => {
    const a = newThread("iso-a");
    const ra = await runPython(a, { code: "import tbx_only_a\nprint(tbx_only_a.hello())", packages: ["tbx-only-a"] });
    expect(ra.is_error, ra.metadata.stderr).toBe(false);
    expect(ra.metadata.stdout).toBe("hello from tbx-only-a 1.0.0\n");

    const rb = await runPython(newThread("iso-b"), { code: "import tbx_only_a" });
    expect(rb.is_error).toBe(true);
    expect(rb.metadata.error_code).toBe("MODULE_NOT_FOUND");
  });
});

describe("system mode", () => {
  it("runs the container's own python3 with use_venv: false", async () => {
    const r = await runPython(newThread("system"), {
      code: "import sys\nprint(sys.prefix)\nprint(sys.executable)",
      options: { use_venv: false },
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.virtual_env).toBeNull();
    expect(r.metadata.stdout).toBe("/usr\n/usr/bin/python3\n");
  });

  it("installs into a per-thread directory, never the image's site-packages", async () => {
    const thread = newThread("system-pkg");
    const r = await runPython(thread, {
      code: "import sys, tbx_hello\nprint(tbx_hello.hello())\nprint(tbx_hello.__file__)\nprint(sys.prefix)",
      packages: ["tbx-hello==1.0.0"],
      options: { use_venv: false },
    });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.virtual_env).toBeNull();
    expect(r.metadata.packages_installed).toEqual(["tbx-hello==1.0.0"]);
    expect(r.metadata.stdout).toBe("hello from tbx-hello 1.0.0\n/.venv/system-site/tbx_hello/__init__.py\n/usr\n");
    expect(await exists(path.join(venvDir(rt, thread), "system-site", "tbx_hello"))).toBe(true);
    expect(await exists("/usr/lib/python3/dist-packages/tbx_hello")).toBe(false);

    const other = await runPython(newThread("system-other"), { code: "import tbx_hello", options: { use_venv: false } });
    expect(other.metadata.error_code).toBe("MODULE_NOT_FOUND");
  });

  it("gets its packages back after the venv directory is lost", async () => {
    const thread = newThread("system-heal");
    const code = "import tbx_hello\nprint(tbx_hello.__version__)";
    const first = await runPython(thread, { code, packages: ["tbx-hello==1.0.0"], options: { use_venv: false } });
    expect(first.metadata.stdout, first.metadata.stderr).toBe("1.0.0\n");
    // A thread moved to a fresh runtime: the workspace (and its manifest) came along, the local disk did not.
    await rm(venvDir(rt, thread), { recursive: true, force: true });
    const r = await runPython(thread, { code, options: { use_venv: false } });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.stdout).toBe("1.0.0\n");
  });
});

describe("recovery", () => {
  // One thread for both steps: each starts from a venv with tbx-hello 2.0.0 recorded in the manifest.
  const thread = newThread("heal");
  const sitePackages = async () => {
    const lib = path.join(venvDir(rt, thread), "lib");
    const [python] = (await readdir(lib)).filter((n) => n.startsWith("python3"));
    return path.join(lib, python ?? "python3", "site-packages");
  };
  const version = "import tbx_hello\nprint(tbx_hello.__version__)";

  it("rebuilds a deleted venv from the manifest on the next call", async () => {
    const first = await runPython(thread, { code: version, packages: ["tbx-hello==2.0.0"] });
    expect(first.metadata.stdout, first.metadata.stderr).toBe("2.0.0\n");

    await rm(venvDir(rt, thread), { recursive: true, force: true });
    const r = await runPython(thread, { code: version });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.stdout).toBe("2.0.0\n");
    expect(r.metadata.packages_installed).toEqual([]);
    // Built aside and switched in: nothing but the venv itself is left next to it.
    const siblings = (await readdir(path.dirname(venvDir(rt, thread)))).filter((n) => n.startsWith(thread));
    expect(siblings).toEqual([thread]);
  });

  it("restores what is installed when a later install downgraded an earlier one", async () => {
    const t = newThread("downgrade");
    await installPackages(t, { packages: ["tbx-hello>=2"] });
    // tbx-app needs tbx-hello<2: pip replaces 2.0.0 with 1.0.0.
    const app = await installPackages(t, { packages: ["tbx-app"] });
    expect(app.ok, app.message).toBe(true);
    const code = "import importlib.metadata as m\nimport tbx_app\nprint(m.version('tbx-hello'))";
    const before = await runPython(t, { code });
    expect(before.metadata.stdout, before.metadata.stderr).toBe("1.0.0\n");

    await rm(venvDir(rt, t), { recursive: true, force: true });
    const r = await runPython(t, { code });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.stdout).toBe("1.0.0\n");
  });

  it("rebuilds a venv whose install was interrupted (the mark left behind)", async () => {
    // What a runtime killed mid-install leaves: the mark, and a venv missing part of what the manifest lists.
    await writeFile(path.join(venvDir(rt, thread), MARK), "interrupted\n");
    await rm(path.join(await sitePackages(), "tbx_hello"), { recursive: true });
    const r = await runPython(thread, { code: version });
    expect(r.is_error, r.metadata.stderr).toBe(false);
    expect(r.metadata.stdout).toBe("2.0.0\n");
    expect(await exists(path.join(venvDir(rt, thread), MARK))).toBe(false);
  });

  it("heals after a real SIGKILL of the runtime in the middle of an install", { timeout: 120_000 }, async () => {
    // An index that accepts connections and never answers keeps pip inside the install for as long as we need.
    const sockets = new Set<Socket>();
    const hang = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => hang.listen(0, "127.0.0.1", resolve));
    const port = (hang.address() as AddressInfo).port;
    const marker = `tbx-hang-${randomUUID().slice(0, 8)}`;
    // The hanging index is on the host's loopback, outside the sandbox's network namespace unless allowed.
    const doomed = await startRuntime({ PIP_INDEX_URL: index.url, SANDBOX_NET_ALLOW: `127.0.0.1:${port}` });
    let restarted: RuntimeProcess | undefined;
    try {
      const t = newThread("sigkill");
      await doomed.json("POST", `/threads/acme/${t}`);
      const builtAt = await readFile(path.join(venvDir(doomed, t), "threadbox-venv.json"), "utf8");

      const res = await doomed.call("POST", `/threads/acme/${t}/packages`, {
        body: { packages: [marker], pip_args: `--index-url http://127.0.0.1:${port}/simple/ --trusted-host 127.0.0.1 --retries 0 --timeout 30` },
        accept: "sse",
      });
      // Read live: the stream breaks off when the runtime dies, and what arrived before is what counts.
      const seen: ExecutionEvent[] = [];
      const reading = collect(res, seen);
      await waitFor(() => sockets.size > 0, 30_000, "pip never reached the hanging index");
      expect(await exists(path.join(venvDir(doomed, t), MARK))).toBe(true);
      const exited = new Promise((r) => doomed.child.once("exit", r));
      doomed.child.kill("SIGKILL");
      await exited;
      await reading;
      expect(seen.some((e) => e.type === "install" && e.phase === "start")).toBe(true);
      expect(seen.some((e) => e.type === "result")).toBe(false);
      // The install's processes die with the runtime (parent-death signals); the crash leaves its mark.
      await waitFor(async () => (await processesMatching(marker)).length === 0, 10_000, "pip outlived the runtime");
      expect(await exists(path.join(venvDir(doomed, t), MARK))).toBe(true);

      restarted = await startRuntime({ PIP_INDEX_URL: index.url }, { root: doomed.root });
      const r = await runPython(t, { code: "print('healed')" }, restarted);
      expect(r.is_error, r.metadata.stderr).toBe(false);
      expect(r.metadata.stdout).toBe("healed\n");
      expect(await exists(path.join(venvDir(doomed, t), MARK))).toBe(false);
      expect(await readFile(path.join(venvDir(doomed, t), "threadbox-venv.json"), "utf8")).not.toBe(builtAt);
    } finally {
      await restarted?.stop();
      await doomed.stop();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => hang.close(() => resolve()));
    }
  });
});

describe("javascript packages", () => {
  it("installs an npm package into the workspace from the runtime's registry (NPM_REGISTRY_URL, on loopback)", { timeout: 120_000 }, async () => {
    const thread = newThread("npm");
    const r = await installPackages(thread, { language: "javascript", packages: ["is-number@7.0.0"] });
    expect(registry.downloads("is-number")).toBe(1);
    expect(r, r.message).toMatchObject({ ok: true, language: "javascript", installed: ["is-number@7.0.0"] });
    const run = await exec(thread, `node -e "console.log(require('is-number')(5))"`);
    expect(run.stdout, run.stderr).toBe("true\n");
    const pkg = JSON.parse(await readFile(path.join(rt.workspaces, "acme", thread, "package.json"), "utf8"));
    expect(pkg.dependencies).toHaveProperty("is-number");
  });
});

/** Pushes events into `into` as they arrive, until the stream ends or breaks. */
async function collect(res: Response, into: ExecutionEvent[]): Promise<void> {
  if (!res.body) return;
  try {
    for await (const msg of parseSseStream(res.body)) into.push(parseEvent(JSON.parse(msg.data)));
  } catch {
    // the connection was cut
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
