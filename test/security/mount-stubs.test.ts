import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "vitest";
import { contextClient } from "../runtime/context-client.ts";
import { execOn, newMarker } from "./hostile.ts";
import { useTarget } from "./suite.ts";
import { type Backend, TENANT, runtimeTarget } from "./target.ts";

/*
 * H10 (SECURITY.md, host-side file access): the mount-point stubs in a workspace (`usr`, `etc`, `tmp`, `proc`,
 * `.venv`, the usr-merge links) are removed only while no tree of the thread runs. Under bwrap they are a running
 * context's mount points: removing them before another run of the thread made the kernel detach the context's
 * mounts, and the context then saw the workspace's own empty, thread-writable directories as `/usr` and `/tmp`:
 * what it wrote to `/tmp` landed in the workspace. The same test under proot, which has no kernel mounts there.
 */
const CELL = `
import json, os
def probe(name, text):
    with open("/tmp/" + name, "w") as f:
        f.write(text)
    with open("/usr/bin/python3", "rb") as f:
        elf = f.read(4) == b"\\x7fELF"
    return json.dumps({"elf": elf, "etc": os.path.exists("/etc/os-release"), "tmp": sorted(os.listdir("/tmp"))})
`;

function stubTests(backend: Backend): void {
  describe(`mount-point stubs while a context runs (${backend})`, () => {
    const target = useTarget(() => runtimeTarget(backend));
    const contexts = contextClient(() => target().rt);

    it("H10: a context writes /tmp/x and reads /usr/bin/python3 before and after other runs of its thread; /tmp/x never lands in the workspace", async ({ expect }) => {
      const thread = `h10-${newMarker()}`;
      const dir = target().dir(thread);
      await target().createThread(thread);
      const ctx = await contexts.create(thread);
      const probe = async (name: string) => {
        const r = await contexts.run(thread, ctx.id, `print(probe(${JSON.stringify(name)}, "${name}"))`);
        expect(r.ok, JSON.stringify(r)).toBe(true);
        return JSON.parse(r.stdout);
      };
      await contexts.value(thread, ctx.id, CELL);
      expect(await probe("x")).toMatchObject({ elf: true, etc: true });

      // Other runs of the thread while the context lives: each prepares (and used to clean) the workspace's stubs.
      expect(await execOn(target(), thread, "echo run-1")).toMatchObject({ exit_code: 0, stdout: "run-1\n" });
      const py = await target().post(thread, "run_python", { code: "print('run-2')" });
      expect(py.status).toBe(200);
      expect(await execOn(target(), thread, "ls /tmp; test -e /tmp/x && echo shared-tmp")).toMatchObject({ exit_code: 0 });

      const after = await probe("y");
      expect(after, "the context's /usr, /etc and /tmp are still its mounts").toMatchObject({ elf: true, etc: true });
      expect(after.tmp).toEqual(expect.arrayContaining(["x", "y"]));
      for (const name of ["x", "y"]) expect(existsSync(path.join(dir, "tmp", name)), `tmp/${name} in the workspace`).toBe(false);

      // Once the context is gone and a last run has ended, the stubs go with it: only the user's files are left.
      expect((await target().rt.call("DELETE", `/threads/${TENANT}/${thread}/contexts/${ctx.id}`)).status).toBe(200);
      expect(await execOn(target(), thread, "echo last")).toMatchObject({ stdout: "last\n" });
      const top = await readdir(dir);
      for (const stub of ["usr", "etc", "tmp", "proc", "bin", "workspace"]) expect(top, `stub ${stub} left`).not.toContain(stub);
    });
  });
}

stubTests("proot");
stubTests("bwrap");
