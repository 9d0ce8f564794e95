import { lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorBodySchema, type ExecResult } from "../../shared/src/index.ts";
import { useTarget } from "./suite.ts";
import { type Backend, TENANT, runtimeTarget } from "./target.ts";

/*
 * SECURITY.md rows M1–M5: tenants' shared read-only mounts. A sandbox tries to write into its mount every way it can,
 * plants a `.skills` of its own in its workspace, and tries another tenant's mount; links planted in a mount on the
 * storage (the bucket can hold what the API never wrote) are never followed by the host, and lead nowhere in the
 * guest that the thread could not reach anyway.
 */
const OTHER = "globex";

export function mountTests(backend: Backend): void {
  const target = useTarget(() => runtimeTarget(backend));
  const rt = () => target().rt;
  const mountsRoot = () => path.join(path.dirname(rt().workspaces), "mounts");
  const put = async (tenant: string, name: string, rel: string, data: string) => {
    const res = await rt().call("PUT", `/mounts/${tenant}/${name}/files/${rel}`, { raw: data });
    expect(res.status, await res.text()).toBe(201);
  };
  const thread = async (tenant: string, mounts: unknown[]) => {
    const id = `m-${crypto.randomUUID().slice(0, 8)}`;
    await rt().json("POST", `/threads/${tenant}/${id}`, { mounts });
    return id;
  };
  const exec = (tenant: string, id: string, command: string) => rt().json<ExecResult>("POST", `/threads/${tenant}/${id}/exec`, { command });
  const codeOf = async (res: Response) => ({ status: res.status, code: ErrorBodySchema.safeParse(await res.json().catch(() => null)).data?.error.code });

  describe(`shared mounts under ${backend}`, () => {
    it("M1: every write into a mount fails; the host files keep their bytes, mode and owner", async () => {
      await put(TENANT, "m1", "SKILL.md", "original\n");
      await put(TENANT, "m1", "dir/x.txt", "x\n");
      const id = await thread(TENANT, [{ name: "m1" }]);
      const tries = [
        "echo bad > /.skills/m1/SKILL.md", "echo bad >> /.skills/m1/SKILL.md", "touch /.skills/m1/new", "mkdir /.skills/m1/d",
        "rm -f /.skills/m1/SKILL.md", "mv /.skills/m1/SKILL.md /.skills/m1/moved", "chmod 777 /.skills/m1/SKILL.md",
        "ln -s /etc/passwd /.skills/m1/l", "ln /.skills/m1/SKILL.md /.skills/m1/hard", "truncate -s 0 /.skills/m1/SKILL.md",
        "rm -rf /.skills/m1/dir", "mkdir /.skills/other", "rmdir /.skills/m1", "mv /.skills /moved-skills",
      ];
      const r = await exec(TENANT, id, tries.map((t) => `if ${t} 2>/dev/null; then echo "WROTE: ${t.replaceAll('"', "")}"; fi`).join("\n"));
      expect(r.stdout).toBe("");
      const host = path.join(mountsRoot(), TENANT, "m1");
      expect(await readFile(path.join(host, "SKILL.md"), "utf8")).toBe("original\n");
      expect(await readFile(path.join(host, "dir/x.txt"), "utf8")).toBe("x\n");
      const st = await stat(path.join(host, "SKILL.md"));
      expect({ mode: st.mode & 0o7777, uid: st.uid }).toEqual({ mode: 0o644, uid: process.getuid?.() });
      expect((await exec(TENANT, id, "cat /.skills/m1/SKILL.md")).stdout).toBe("original\n");
    });

    it("M2: links planted in a mount on storage are listed as links, never followed by the host, and lead nowhere in the guest", async () => {
      await put(OTHER, "secret", "key.txt", "globex-secret\n");
      await put(TENANT, "m2", "ok.txt", "ok\n");
      const host = path.join(mountsRoot(), TENANT, "m2");
      const otherFile = path.join(mountsRoot(), OTHER, "secret", "key.txt");
      await symlink(otherFile, path.join(host, "abs"));
      await symlink(`../../${OTHER}/secret/key.txt`, path.join(host, "rel"));
      await symlink(path.join(mountsRoot(), OTHER, "secret"), path.join(host, "dirlink"));
      const list = await rt().json<{ entries: { path: string; type: string }[] }>("GET", `/mounts/${TENANT}/m2/files`);
      expect(list.entries.filter((e) => e.type === "symlink").map((e) => e.path).sort()).toEqual(["abs", "dirlink", "rel"]);
      expect(list.entries.map((e) => e.path)).not.toContain("dirlink/key.txt");
      // Writing through a planted directory link is refused; deleting a link removes the link only.
      expect(await codeOf(await rt().call("PUT", `/mounts/${TENANT}/m2/files/dirlink/key.txt`, { raw: "overwritten" }))).toEqual({ status: 400, code: "INVALID_PATH" });
      expect((await rt().call("DELETE", `/mounts/${TENANT}/m2/files/abs`)).status).toBe(200);
      expect(await readFile(otherFile, "utf8")).toBe("globex-secret\n");
      expect((await lstat(path.join(host, "abs")).catch(() => null))).toBeNull();
      expect(await readlink(path.join(host, "rel"))).toBe(`../../${OTHER}/secret/key.txt`);
      // In the guest the links resolve in the sandbox's own view: no other tenant's data behind them.
      const id = await thread(TENANT, [{ name: "m2" }]);
      const r = await exec(TENANT, id, "cat /.skills/m2/ok.txt; cat /.skills/m2/rel /.skills/m2/dirlink/key.txt 2>&1; true");
      expect(r.stdout).toMatch(/^ok\n/);
      expect(r.stdout).not.toContain("globex-secret");
    });

    it("M3: a .skills the thread planted in its workspace (a link, or its own files) never replaces the mount", async () => {
      await put(TENANT, "m3", "SKILL.md", "tenant's\n");
      const id = await thread(TENANT, [{ name: "m3" }]);
      const ws = target().dir(id);
      // Its own .skills/m3 with other content, then (next thread) a .skills link to its /tmp holding a fake.
      await exec(TENANT, id, "true");
      await mkdir(path.join(ws, ".skills", "m3"), { recursive: true });
      await writeFile(path.join(ws, ".skills", "m3", "SKILL.md"), "thread's\n");
      expect((await exec(TENANT, id, "cat /.skills/m3/SKILL.md")).stdout).toBe("tenant's\n");
      expect(await readFile(path.join(ws, ".skills", "m3", "SKILL.md"), "utf8")).toBe("thread's\n");
      const id2 = await thread(TENANT, [{ name: "m3" }]);
      await exec(TENANT, id2, "mkdir -p /tmp/fake/m3 && echo fake > /tmp/fake/m3/SKILL.md && ln -s /tmp/fake /workspace/.skills");
      expect((await exec(TENANT, id2, "cat /.skills/m3/SKILL.md")).stdout).toBe("tenant's\n");
      expect(await readFile(path.join(mountsRoot(), TENANT, "m3", "SKILL.md"), "utf8")).toBe("tenant's\n");
    });

    it("M4: another tenant's mount: not nameable (404), not reachable by its host path, its own under the same name", async () => {
      await put(OTHER, "same", "who.txt", "globex\n");
      expect(await codeOf(await rt().call("POST", `/threads/initech/m-${crypto.randomUUID().slice(0, 8)}`, { body: { mounts: [{ name: "same" }] } }))).toEqual({
        status: 404,
        code: "MOUNT_NOT_FOUND",
      });
      await put(TENANT, "same", "who.txt", "acme\n");
      const id = await thread(TENANT, [{ name: "same" }]);
      const hostPath = path.join(mountsRoot(), OTHER, "same", "who.txt");
      const r = await exec(TENANT, id, `cat /.skills/same/who.txt; cat ${hostPath} 2>/dev/null; ls /.skills`);
      expect(r.stdout).toBe("acme\nsame\n");
    });

    it("M5: a mount deleted while threads use it is seen empty, never a stale copy", async () => {
      await put(TENANT, "m5", "a.txt", "v1\n");
      const id = await thread(TENANT, [{ name: "m5" }]);
      expect((await exec(TENANT, id, "cat /.skills/m5/a.txt")).stdout).toBe("v1\n");
      expect((await rt().call("DELETE", `/mounts/${TENANT}/m5`)).status).toBe(200);
      const r = await exec(TENANT, id, "ls -A /.skills/m5; cat /.skills/m5/a.txt 2>/dev/null; echo end");
      expect(r.stdout).toBe("end\n");
    });
  });
}
