import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, type ExecResult } from "../../shared/src/index.ts";
import { contextClient } from "./context-client.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

// Shared read-only mounts on a real runtime, under proot and bwrap: the mount API (thread-less), a thread created
// with mounts seeing them read-only, a tenant's update seen by the next run, and one tenant's names never another's.

/** What a write into a mount fails with, per backend (documented in the README). */
const WRITE_ERROR = { proot: "EACCES", bwrap: "EROFS" } as const;

const WRITE_PROBE = `
import errno, os
def attempt(fn):
    try:
        fn(); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
print(attempt(lambda: open("/.skills/pdf/a.txt", "w")), attempt(lambda: open("/.skills/pdf/new.txt", "w")),
      attempt(lambda: os.mkdir("/.skills/beside")), attempt(lambda: os.remove("/.skills/pdf/a.txt")),
      attempt(lambda: os.symlink("/etc", "/.skills/pdf/l")))
`;

async function code(res: Response): Promise<{ status: number; code: string | null }> {
  const parsed = ErrorBodySchema.safeParse(await res.json().catch(() => null));
  return { status: res.status, code: parsed.success ? parsed.data.error.code : null };
}

describe.each(["proot", "bwrap"] as const)("shared read-only mounts under %s", (isolation) => {
  let rt: RuntimeProcess;
  beforeAll(async () => {
    rt = await startRuntime({ ISOLATION: isolation });
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const put = async (tenant: string, name: string, rel: string, data: string) => {
    const res = await rt.call("PUT", `/mounts/${tenant}/${name}/files/${rel}`, { raw: data });
    expect(res.status, await res.text()).toBe(201);
  };
  const exec = (tenant: string, thread: string, command: string) =>
    rt.json<ExecResult>("POST", `/threads/${tenant}/${thread}/exec`, { command });

  it("stores, lists and deletes a tenant's mount files, root-owned and not writable by others", async () => {
    await put("acme", "docs", "README.md", "# docs\n");
    await put("acme", "docs", "sub/x.bin", "12345");
    const { mounts } = await rt.json<{ mounts: unknown[] }>("GET", "/mounts/acme");
    expect(mounts).toContainEqual({ name: "docs", files: 2, bytes: 12 });
    const list = await rt.json<{ entries: { path: string; type: string }[] }>("GET", "/mounts/acme/docs/files");
    expect(list.entries.map((e) => `${e.type}:${e.path}`)).toEqual(["file:README.md", "directory:sub", "file:sub/x.bin"]);
    const host = path.join(path.dirname(rt.workspaces), "mounts", "acme", "docs");
    for (const [rel, mode] of [["", 0o755], ["sub", 0o755], ["sub/x.bin", 0o644]] as const) {
      const st = statSync(path.join(host, rel));
      expect(st.mode & 0o777).toBe(mode);
      expect(st.uid).toBe(process.getuid?.());
    }
    await rt.json("DELETE", "/mounts/acme/docs/files/sub/x.bin");
    expect((await rt.json<{ mounts: unknown[] }>("GET", "/mounts/acme")).mounts).toContainEqual({ name: "docs", files: 1, bytes: 7 });
    await rt.json("DELETE", "/mounts/acme/docs");
    expect(await code(await rt.call("GET", "/mounts/acme/docs/files"))).toEqual({ status: 404, code: "MOUNT_NOT_FOUND" });
  });

  it("shows a context's interpreter its mounts too, and forgets the thread's mount view when the thread is deleted", async () => {
    await put("acme", "ctx", "data.txt", "from the mount");
    const thread = `m-${randomUUID()}`;
    await rt.json("POST", `/threads/acme/${thread}`, { mounts: [{ name: "ctx" }] });
    const contexts = contextClient(() => rt);
    const info = await contexts.create(thread, { language: "python" });
    expect(await contexts.value(thread, info.id, "open('/.skills/ctx/data.txt').read()")).toBe("'from the mount'");
    const view = path.join(rt.root, "state", "mount-views", "acme", thread);
    expect(statSync(view).isDirectory()).toBe(true);
    await rt.json("DELETE", `/threads/acme/${thread}`);
    expect(() => statSync(view)).toThrow(/ENOENT/);
    // Made again under the same id without mounts, it sees none.
    const again = await rt.json<{ mounts: unknown[] }>("POST", `/threads/acme/${thread}`, {});
    expect(again.mounts).toEqual([]);
  });

  it("refuses bad names and paths with stable codes", async () => {
    expect(await code(await rt.call("PUT", "/mounts/acme/Bad!/files/a", { raw: "x" }))).toEqual({ status: 400, code: "VALIDATION_FAILED" });
    expect(await code(await rt.call("PUT", "/mounts/acme/ok/files/a%2F..%2F..%2Fb", { raw: "x" }))).toEqual({ status: 400, code: "INVALID_PATH" });
    expect(await code(await rt.call("DELETE", "/mounts/acme/never/files/a"))).toEqual({ status: 404, code: "MOUNT_NOT_FOUND" });
    const thread = `m-${randomUUID()}`;
    const bad = (mounts: unknown) => rt.call("POST", `/threads/acme/${thread}`, { body: { mounts } });
    expect(await code(await bad([{ name: "never" }]))).toEqual({ status: 404, code: "MOUNT_NOT_FOUND" });
    for (const p of ["/workspace/x", "/usr/x", "/.skills/../etc", "relative", "/.skills", "/.skills/a/b", "/tmp/x"]) {
      expect(await code(await bad([{ name: "pdf", path: p }])), p).toEqual({ status: 400, code: "VALIDATION_FAILED" });
    }
  });

  it("shows a thread its mounts read-only, and the tenant's updates on the next run", async () => {
    await put("acme", "pdf", "a.txt", "v1\n");
    const thread = `m-${randomUUID()}`;
    const info = await rt.json<{ mounts: unknown }>("POST", `/threads/acme/${thread}`, { mounts: [{ name: "pdf", path: "/.skills/pdf" }] });
    expect(info.mounts).toEqual([{ name: "pdf", path: "/.skills/pdf" }]);
    const seen = await exec("acme", thread, "ls /.skills; cat /.skills/pdf/a.txt");
    expect(seen).toMatchObject({ exit_code: 0, stdout: "pdf\nv1\n" });

    const probe = await rt.json<ExecResult>("POST", `/threads/acme/${thread}/exec`, { command: `python3 -c '${WRITE_PROBE}'` });
    const e = WRITE_ERROR[isolation];
    expect(probe.stdout.trim(), probe.stderr).toBe([e, e, isolation === "bwrap" ? "EROFS" : "EACCES", e, e].join(" "));

    await put("acme", "pdf", "a.txt", "v2\n");
    await put("acme", "pdf", "b.txt", "new\n");
    expect(await exec("acme", thread, "cat /.skills/pdf/a.txt /.skills/pdf/b.txt")).toMatchObject({ stdout: "v2\nnew\n" });
    // The workspace holds none of it: the mount point stubs are gone after the run.
    const files = await rt.json<{ entries: { path: string }[] }>("GET", `/threads/acme/${thread}/files`);
    expect(files.entries.map((x) => x.path)).not.toContain(".skills");
  });

  it("gives each tenant its own mount under one name", async () => {
    await put("acme", "shared", "who.txt", "acme\n");
    await put("globex", "shared", "who.txt", "globex\n");
    const [a, g] = [`m-${randomUUID()}`, `m-${randomUUID()}`];
    await rt.json("POST", `/threads/acme/${a}`, { mounts: [{ name: "shared" }] });
    await rt.json("POST", `/threads/globex/${g}`, { mounts: [{ name: "shared", path: "/mnt/shared" }] });
    expect(await exec("acme", a, "cat /.skills/shared/who.txt")).toMatchObject({ stdout: "acme\n" });
    expect(await exec("globex", g, "cat /mnt/shared/who.txt; ls /.skills 2>&1 | head -1")).toMatchObject({ stdout: expect.stringMatching(/^globex\n.*No such file/) });
    // A tenant without the mount cannot name another's.
    expect(await code(await rt.call("POST", `/threads/initech/m-${randomUUID()}`, { body: { mounts: [{ name: "shared" }] } }))).toEqual({
      status: 404,
      code: "MOUNT_NOT_FOUND",
    });
    expect((await rt.json<{ mounts: unknown[] }>("GET", "/mounts/initech")).mounts).toEqual([]);
  });
});
