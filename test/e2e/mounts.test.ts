import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ThreadState } from "../../shared/src/index.ts";
import { Threadbox, ThreadboxError } from "../../client/src/index.ts";
import { type ErrorJson, expectJson } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Shared read-only mounts through the whole stack (worker in workerd, real runtime): the SDK's tb.mounts, a thread
// created with mounts seeing them read-only, the tenant's update on the next run, DEFAULT_MOUNTS for tenant b, and
// thread tokens refused on the mounts API.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: { DEFAULT_MOUNTS: JSON.stringify({ tenants: { "tenant-b": [{ name: "house", path: "/.mounts/house" }] } }) } });
});
afterAll(async () => {
  await stack?.stop();
});

const sdk = (key = stack.tenants.a.key) => new Threadbox({ baseUrl: stack.worker.url, apiKey: key });

describe("shared read-only mounts through the worker", () => {
  it("puts, lists and deletes a mount with the SDK; a thread sees it read-only and the next run sees updates", async () => {
    const tb = sdk();
    await tb.mounts.put("pdf", "SKILL.md", "# PDF skill v1\n");
    await tb.mounts.put("pdf", "scripts/fill.py", "print('fill')\n");
    expect(await tb.mounts.list()).toContainEqual({ name: "pdf", files: 2, bytes: 29 });
    expect((await tb.mounts.list("pdf")).map((e) => e.path)).toEqual(["SKILL.md", "scripts", "scripts/fill.py"]);

    const thread = await tb.createThread({ mounts: [{ name: "pdf" }] });
    const state = await expectJson<ThreadState>(stack.api("GET", `/v1/threads/${thread.id}`), 200);
    expect(state.mounts).toEqual([{ name: "pdf", path: "/.skills/pdf" }]);
    const read = await thread.exec("cat /.skills/pdf/SKILL.md; python3 /.skills/pdf/scripts/fill.py");
    expect(read).toMatchObject({ exit_code: 0, stdout: "# PDF skill v1\nfill\n" });
    const write = await thread.exec("echo x > /.skills/pdf/SKILL.md");
    expect(write.exit_code).not.toBe(0);
    expect(write.stderr).toMatch(/Permission denied|Read-only file system/);

    await tb.mounts.put("pdf", "SKILL.md", "# PDF skill v2\n");
    expect((await thread.exec("cat /.skills/pdf/SKILL.md")).stdout).toBe("# PDF skill v2\n");
    await tb.mounts.delete("pdf", "scripts/fill.py");
    expect((await thread.exec("ls /.skills/pdf/scripts")).stdout).toBe("");
    await tb.mounts.delete("pdf");
    expect((await tb.mounts.list()).map((m) => m.name)).not.toContain("pdf");
  });

  it("refuses a mount the tenant never defined, and another tenant's", async () => {
    await sdk(stack.tenants.b.key).mounts.put("b-only", "a.txt", "b\n");
    const err = await sdk().createThread({ mounts: [{ name: "b-only" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThreadboxError);
    expect(err).toMatchObject({ code: "MOUNT_NOT_FOUND", status: 404 });
  });

  it("gives tenant b its DEFAULT_MOUNTS, refusing thread creation until the mount exists", async () => {
    const b = stack.tenants.b.key;
    const first = await expectJson<ErrorJson>(stack.api("POST", "/v1/threads", { body: { id: randomUUID() }, auth: b }), 404);
    expect(first.error).toMatchObject({ code: "MOUNT_NOT_FOUND", message: expect.stringContaining("DEFAULT_MOUNTS") });
    await sdk(b).mounts.put("house", "rules.md", "be kind\n");
    const thread = await sdk(b).createThread();
    expect((await thread.exec("cat /.mounts/house/rules.md")).stdout).toBe("be kind\n");
    // Tenant a has no defaults: its threads see no /.mounts.
    const plain = await sdk().createThread();
    expect((await plain.exec("ls /.mounts 2>&1 || true")).stdout).toMatch(/No such file/);
  });

  it("refuses a thread token on the mounts API with 403 FORBIDDEN", async () => {
    const thread = await sdk().createThread();
    const { token } = await sdk().tokens.mint(thread.id);
    for (const [method, path] of [["GET", "/v1/mounts"], ["PUT", "/v1/mounts/x/files/a.txt"], ["DELETE", "/v1/mounts/x"]] as const) {
      const body = await expectJson<ErrorJson>(stack.api(method, path, { auth: token, ...(method === "PUT" ? { raw: "x" } : {}) }), 403);
      expect(body.error.code).toBe("FORBIDDEN");
    }
  });
});
