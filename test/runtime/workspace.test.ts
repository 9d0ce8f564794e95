import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmod, lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecResult, WorkspaceInfo } from "../../shared/src/index.ts";
import { signRequest } from "../../shared/src/index.ts";
import { type RuntimeProcess, TEST_SECRET, startRuntime } from "./harness.ts";

// The workspace checklist: a workspace is configured on first use, its venv is verified rather than trusted,
// and a missing or broken venv is rebuilt even though the marker says "configured".

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

const newThread = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const exec = (r: RuntimeProcess, thread: string, command: string, tenant = "acme") =>
  r.json<ExecResult>("POST", `/threads/${tenant}/${thread}/exec`, { command });
const hostDir = (r: RuntimeProcess, thread: string, tenant = "acme") => path.join(r.workspaces, tenant, thread);
const exists = async (p: string) => (await lstat(p).catch(() => null)) !== null;

async function put(thread: string, file: string, content: string, tenant = "acme"): Promise<void> {
  const res = await rt.call("PUT", `/threads/${tenant}/${thread}/files/${file}`, { raw: content });
  expect(res.status, await res.text()).toBe(201);
}

describe("a fresh workspace", () => {
  it("is configured by the first exec and then reports its python version", async () => {
    const thread = newThread("fresh");
    const before = await rt.call("GET", `/threads/acme/${thread}`);
    expect(before.status).toBe(404);
    expect(((await before.json()) as { error: { code: string } }).error.code).toBe("THREAD_NOT_FOUND");

    const r = await exec(rt, thread, "python --version");
    expect(r.exit_code).toBe(0);
    expect(r.stdout).toMatch(/^Python 3\.\d+\.\d+\n$/);

    const info = await rt.json<WorkspaceInfo>("GET", `/threads/acme/${thread}`);
    expect(info).toMatchObject({ configured: true, virtual_env: "/.venv" });
    expect(info.python_version).toMatch(/^3\.\d+\.\d+$/);
    expect(r.stdout.trim()).toBe(`Python ${info.python_version}`);
    expect(await exists(path.join(hostDir(rt, thread), ".threadbox/workspace.json"))).toBe(true);
  });

  it("has the venv interpreter at /.venv/bin/python, first on PATH", async () => {
    const thread = newThread("venv");
    const ls = await exec(rt, thread, "ls -la /.venv/bin/python");
    expect(ls.exit_code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain("/.venv/bin/python");
    const which = await exec(rt, thread, "which python");
    expect(which).toMatchObject({ exit_code: 0, stdout: "/.venv/bin/python\n" });
    const prefix = await exec(rt, thread, "python -c 'import sys; print(sys.prefix)'");
    expect(prefix.stdout).toBe("/.venv\n");
  });

  it("runs an uploaded script", async () => {
    const thread = newThread("script");
    await put(thread, "test.py", "print('Hello from Python!')\n");
    const r = await exec(rt, thread, "python /test.py");
    expect(r).toMatchObject({ exit_code: 0, stdout: "Hello from Python!\n", stderr: "" });
  });

  it("creates .bashrc, pyproject.toml and package.json", async () => {
    const thread = newThread("files");
    const r = await exec(rt, thread, "test -f /.bashrc && test -f /pyproject.toml && cat /package.json");
    expect(r.exit_code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ private: true });
    for (const name of [".bashrc", "pyproject.toml", "package.json"]) {
      expect(await exists(path.join(hostDir(rt, thread), name)), name).toBe(true);
    }
  });
});

describe("errors stay visible", () => {
  it("reports a failing import with exit code 1 and the traceback on stderr", async () => {
    const thread = newThread("imperr");
    await put(thread, "test.py", "import nonexistent\n");
    const r = await exec(rt, thread, "python /test.py");
    expect(r.exit_code).toBe(1);
    expect(r.stderr).toContain("ModuleNotFoundError: No module named 'nonexistent'");
  });

  it("does not stop at the first failing command (no set -e) and passes the exit status through", async () => {
    const thread = newThread("sete");
    expect(await exec(rt, thread, "false; echo after")).toMatchObject({ exit_code: 0, stdout: "after\n" });
    expect(await exec(rt, thread, "exit 7")).toMatchObject({ exit_code: 7 });
  });
});

describe("new venvs", () => {
  it("are copies of the runtime's template, owned by the thread, with activate scripts for /.venv", async () => {
    const thread = newThread("tmpl");
    const r = await exec(rt, thread, "id -u; stat -c %u /.venv /.venv/bin/python3 /.venv/pyvenv.cfg; . /.venv/bin/activate && echo $VIRTUAL_ENV && python -c 'import sys, numpy; print(sys.prefix)'");
    expect(r.exit_code, r.stderr).toBe(0);
    const [uid, ...rest] = r.stdout.trim().split("\n");
    expect(rest).toEqual([uid, uid, uid, "/.venv", "/.venv"]);
    // The template itself is the runtime's, where no sandbox looks.
    expect(await exists(path.join(rt.root, "state", "venv-template", "venv", "pyvenv.cfg"))).toBe(true);
  });

  it("every copy has the template's entries, modes, contents and links, each owned by its thread", async () => {
    const template = path.join(rt.root, "state", "venv-template", "venv");
    const listing = async (top: string, rel = ""): Promise<string[]> => {
      const out: string[] = [];
      for (const name of (await readdir(path.join(top, rel))).sort()) {
        const r = path.join(rel, name);
        const st = await lstat(path.join(top, r));
        const what = st.isSymbolicLink() ? `-> ${await readlink(path.join(top, r))}` : st.isFile() ? await readFile(path.join(top, r), "utf8") : "dir";
        out.push(`${r} ${(st.mode & 0o7777).toString(8)} ${what}`);
        if (st.isDirectory()) out.push(...(await listing(top, r)));
      }
      return out;
    };
    // Two threads: the first copy is checked in its sandbox, later ones are not; all must be the same tree.
    for (const label of ["copy-a", "copy-b"]) {
      const thread = newThread(label);
      const r = await exec(rt, thread, "id -u && python -c 'import sys; print(sys.prefix)'");
      expect(r.exit_code, r.stderr).toBe(0);
      const [uid, prefix] = r.stdout.trim().split("\n");
      expect(prefix).toBe("/.venv");
      const venv = path.join(rt.root, "state", "venvs", "acme", thread);
      // Plus the build's own record (venv.ts), written after the copy.
      const copied = (await listing(venv)).filter((line) => !line.startsWith("threadbox-venv.json "));
      expect(copied).toEqual(await listing(template));
      const owners = new Set<number>();
      for (const line of await listing(venv)) owners.add((await lstat(path.join(venv, line.split(" ")[0] as string))).uid);
      expect([...owners]).toEqual([Number(uid)]);
      expect(((await lstat(venv)).mode & 0o777).toString(8)).toBe("700");
    }
  });
});

describe("recovery from a corrupted workspace", () => {
  it("rebuilds a venv deleted behind the marker's back", async () => {
    const thread = newThread("novenv");
    await exec(rt, thread, "true");
    const dir = hostDir(rt, thread);
    // The venv lives on local disk (STATE_DIR/venvs/<tenant>/<thread>), bound at /.venv.
    const venv = path.join(rt.root, "state", "venvs", "acme", thread);
    await rm(venv, { recursive: true, force: true });
    expect(await exists(path.join(dir, ".threadbox/workspace.json"))).toBe(true);
    expect((await rt.json<WorkspaceInfo>("GET", `/threads/acme/${thread}`)).configured).toBe(false);

    const r = await exec(rt, thread, "python --version && which python");
    expect(r.exit_code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Python 3\.\d+\.\d+\n\/\.venv\/bin\/python\n$/);
    expect(await exists(path.join(venv, "bin/python"))).toBe(true);
    expect((await rt.json<WorkspaceInfo>("GET", `/threads/acme/${thread}`)).configured).toBe(true);
  });

  it("detects an interpreter that does not run, in a new runtime process, and reconfigures", async () => {
    // Our own data dirs, so they outlive the first runtime (stop() deletes the harness's root).
    const root = await mkdtemp(path.join(os.tmpdir(), "threadbox-ws-test-"));
    await chmod(root, 0o711);
    const env = { WORKSPACES_ROOT: path.join(root, "threads"), STATE_DIR: path.join(root, "state") };
    const thread = newThread("broken");
    const python = path.join(env.STATE_DIR, "venvs", "acme", thread, "bin/python");
    let second: RuntimeProcess | undefined;
    try {
      const first = await startRuntime(env);
      let configuredAt: string | null;
      try {
        expect((await exec(first, thread, "python --version")).exit_code).toBe(0);
        configuredAt = (await first.json<WorkspaceInfo>("GET", `/threads/acme/${thread}`)).configured_at;
      } finally {
        await first.stop();
      }

      // The venv's python is a symlink to the system interpreter: replace the link, never write through it.
      expect((await lstat(python)).isSymbolicLink()).toBe(true);
      await rm(python);
      await writeFile(python, "#!/bin/sh\nexit 1\n", { mode: 0o755 });
      expect(() => execFileSync(python, ["--version"], { stdio: "ignore" })).toThrow();

      second = await startRuntime(env);
      const r = await exec(second, thread, "python --version");
      expect(r.exit_code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Python 3\.\d+\.\d+\n$/);
      expect((await lstat(python)).isSymbolicLink()).toBe(true);
      const info = await second.json<WorkspaceInfo>("GET", `/threads/acme/${thread}`);
      expect(info.configured).toBe(true);
      expect(info.configured_at).not.toBe(configuredAt);
    } finally {
      await second?.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("the sandbox environment", () => {
  it("sets HOME and the Python variables and leaks no runtime secret", async () => {
    const thread = newThread("env");
    const r = await exec(rt, thread, "env");
    expect(r.exit_code).toBe(0);
    const vars = Object.fromEntries(
      r.stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    expect(vars).toMatchObject({ HOME: "/", PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1", MPLBACKEND: "Agg" });

    // Every environment a sandbox process can read, not only the shell's own.
    const all = await exec(rt, thread, "env; for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$f\" 2>/dev/null; done");
    expect(all.stdout).toContain("HOME=/");
    expect(all.stdout).not.toContain(TEST_SECRET);
    expect(all.stderr).not.toContain(TEST_SECRET);
  });

  it("puts the venv and node_modules/.bin first on PATH, in that order", async () => {
    const thread = newThread("path");
    const r = await exec(rt, thread, 'printf %s "$PATH"');
    expect(r.stdout.startsWith("/.venv/bin:/node_modules/.bin:"), r.stdout).toBe(true);
  });

  it("makes /workspace and / the same directory", async () => {
    const thread = newThread("alias");
    const r = await exec(rt, thread, "echo via-workspace > /workspace/a && cat /a && [ /workspace -ef / ] && echo same");
    expect(r).toMatchObject({ exit_code: 0, stdout: "via-workspace\nsame\n" });
    expect(await readFile(path.join(hostDir(rt, thread), "a"), "utf8")).toBe("via-workspace\n");
  });
});

describe("workspace lifecycle", () => {
  it("configures once when five first calls race", async () => {
    const thread = newThread("race");
    const infos = await Promise.all(
      Array.from({ length: 5 }, () => rt.json<WorkspaceInfo>("POST", `/threads/acme/${thread}`)),
    );
    for (const info of infos) expect(info.configured).toBe(true);
    expect(new Set(infos.map((i) => i.configured_at)).size).toBe(1);
    const meta = await readdir(path.join(hostDir(rt, thread), ".threadbox"));
    expect(meta.filter((n) => n.startsWith("workspace.json"))).toEqual(["workspace.json"]);
    expect((await exec(rt, thread, "python --version")).exit_code).toBe(0);
  });

  it("keeps the same thread id of two tenants apart", async () => {
    const thread = newThread("tenant");
    await put(thread, "only-a.txt", "from a", "a");
    await put(thread, "only-b.txt", "from b", "b");
    expect(await exec(rt, thread, "cat /only-a.txt", "a")).toMatchObject({ exit_code: 0, stdout: "from a" });
    const fromB = await exec(rt, thread, "ls -a /; cat /only-a.txt", "b");
    expect(fromB.exit_code).not.toBe(0);
    expect(fromB.stdout).toContain("only-b.txt");
    expect(fromB.stdout).not.toContain("only-a.txt");
    expect((await rt.call("GET", `/threads/b/${thread}/files/only-a.txt`)).status).toBe(404);
    expect((await exec(rt, thread, "test -e /only-b.txt", "a")).exit_code).toBe(1);
  });

  it("gives each thread a private /tmp", async () => {
    const x = newThread("tmpx");
    const y = newThread("tmpy");
    expect((await exec(rt, x, "echo secret > /tmp/x-only && cat /tmp/x-only")).stdout).toBe("secret\n");
    const r = await exec(rt, y, "ls -a /tmp; test -e /tmp/x-only");
    expect(r.exit_code).toBe(1);
    expect(r.stdout).not.toContain("x-only");
    expect((await exec(rt, x, "cat /tmp/x-only")).stdout).toBe("secret\n");
  });

  it.each([
    ["a space", "a%20b"],
    ["65 characters", "x".repeat(65)],
    ["dots", "..."],
    ["an embedded ..", "a..b"],
  ])("refuses a thread id with %s (400)", async (_, id) => {
    for (const [method, suffix, body] of [
      ["POST", "/exec", { command: "true" }],
      ["POST", "", undefined],
      ["GET", "", undefined],
    ] as const) {
      const res = await rt.call(method, `/threads/acme/${id}${suffix}`, { body });
      expect(res.status, `${method} ${suffix}`).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_FAILED");
    }
    expect((await rt.call("POST", `/threads/${id}/t/exec`, { body: { command: "true" } })).status).toBe(400);
  });

  it("never reaches a workspace with a thread id of ..", async () => {
    // URLs resolve a `..` segment (also %2E%2E) before routing, so `/threads/acme/../exec` is `/threads/exec`.
    const before = await readdir(rt.workspaces);
    const sent = new URL("/threads/acme/%2E%2E/exec", rt.url).pathname;
    expect(sent).toBe("/threads/exec");
    const body = { command: "touch /escaped" };
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    const signed = await signRequest(TEST_SECRET, { method: "POST", path: sent, body: bytes });
    const res = await rt.call("POST", "/threads/acme/%2E%2E/exec", { body, sign: () => signed });
    expect(res.status).toBe(404);
    expect(await readdir(rt.workspaces)).toEqual(before);
    expect(await exists(path.join(rt.workspaces, "escaped"))).toBe(false);
  });
});
