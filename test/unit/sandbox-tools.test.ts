import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../runtime-container/src/config.ts";
import { sandboxAllowList } from "../../runtime-container/src/sandbox/layers.ts";
import { bunCommand, findTools } from "../../runtime-container/src/sandbox/tools.ts";

// Issue 16: the tools directory every sandbox sees (bun locally) is bound only when nobody but the runtime can change
// it (proot binds it as-is), and the npm registry the runtime names is let through the sandboxes' egress rules.

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "threadbox-tools-"));
  await mkdir(path.join(dir, "bin"), { mode: 0o755 });
  await writeFile(path.join(dir, "bin", "bun"), "#!/bin/sh\n", { mode: 0o555 });
  await symlink("bun", path.join(dir, "bin", "bunx"));
  await chmod(dir, 0o755);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the runtime's tools directory", () => {
  it("is taken as it is when only the runtime's uid can write it, and then runs bun by name", () => {
    const tools = findTools(dir);
    expect(tools).toEqual({ dir, problem: null });
    expect(bunCommand(tools, () => true)).toBe("bun");
  });

  it("is absent without complaint when the directory does not exist; bun is then the system's, if any", () => {
    const tools = findTools(path.join(dir, "nope"));
    expect(tools).toEqual({ dir: null, problem: null });
    expect(bunCommand(tools, (p) => p === "/usr/local/bin/bun")).toBe("/usr/local/bin/bun");
    expect(bunCommand(tools, () => false)).toBeNull();
  });

  it("is refused when a sandbox uid could change what every thread runs", async () => {
    await chmod(path.join(dir, "bin"), 0o775);
    expect(findTools(dir)).toMatchObject({ dir: null, problem: expect.stringMatching(/bin is writable by group or others/) });
    await chmod(path.join(dir, "bin"), 0o755);
    await chmod(path.join(dir, "bin", "bun"), 0o557);
    expect(findTools(dir)).toMatchObject({ dir: null, problem: expect.stringMatching(/bun is writable by group or others/) });
    await chmod(path.join(dir, "bin", "bun"), 0o555);
    await chmod(dir, 0o757);
    expect(findTools(dir)).toMatchObject({ dir: null, problem: expect.stringMatching(/writable by group or others/) });
    await chmod(dir, 0o755);
    if (process.getuid?.() === 0) {
      await chown(path.join(dir, "bin", "bun"), 4242, 4242);
      expect(findTools(dir)).toMatchObject({ dir: null, problem: expect.stringMatching(/belongs to uid 4242/) });
    }
  });
});

describe("the npm registry setting", () => {
  it("lets sandboxes reach a registry on host loopback, beside the Python indexes", () => {
    const config = loadConfig({ HMAC_SECRET: "sandbox-tools-test-secret", PIP_INDEX_URL: "http://127.0.0.1:3141/simple/", NPM_REGISTRY_URL: "http://127.0.0.1:4873/" });
    expect(sandboxAllowList(config).loopbackPorts).toEqual([3141, 4873]);
    expect(sandboxAllowList(loadConfig({ HMAC_SECRET: "sandbox-tools-test-secret" })).loopbackPorts).toEqual([]);
  });
});
