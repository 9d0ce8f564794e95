import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { lstat, readFile, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecResult, ExecResultSchema, type InstallResult, InstallResultSchema } from "../../shared/src/index.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";
import { type NpmRegistry, startNpmRegistry } from "./npm-registry.ts";

// Issue 16: bun and bunx in every sandbox (read-only, from scripts/setup.sh's .build/tools), `bun add` writing the
// workspace's package.json and node_modules from an npm registry on loopback, and the workspace design's Node example:
// a script using the real `docx` package, run with `bun /script.js`, writes a .docx.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUN_VERSION = /^BUN_VERSION=([0-9.]+)/m.exec(await readFile(path.join(REPO, "scripts/image/lib.sh"), "utf8"))?.[1];

const GREET = {
  name: "tbx-greet",
  version: "1.2.3",
  files: {
    "index.js": "module.exports = (who) => `hello ${who} from tbx-greet`;\n",
    "cli.js": "#!/usr/bin/env node\nconsole.log(`tbx-greet cli: ${process.argv.slice(2).join(' ')}`);\n",
  },
  bin: { "tbx-greet": "cli.js" },
};

const DOCX_SCRIPT = `import { Document, Packer, Paragraph, TextRun } from "docx";
import { writeFileSync } from "node:fs";
const doc = new Document({ sections: [{ children: [new Paragraph({ children: [new TextRun("Quarterly report, made with bun")] })] }] });
writeFileSync("/report.docx", await Packer.toBuffer(doc));
console.log("wrote /report.docx");
`;

let registry: NpmRegistry;
beforeAll(async () => {
  registry = await startNpmRegistry({ local: [GREET], installed: ["docx"] });
}, 120_000);
afterAll(async () => {
  await registry?.stop();
});

describe.each(["proot", "bwrap"] as const)("bun under %s", (backend) => {
  let rt: RuntimeProcess;
  beforeAll(async () => {
    rt = await startRuntime({ ISOLATION: backend, NPM_REGISTRY_URL: registry.url });
  }, 60_000);
  afterAll(async () => {
    await rt?.stop();
  });

  const newThread = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
  const ws = (thread: string) => path.join(rt.workspaces, "acme", thread);
  const exec = async (thread: string, command: string, timeout = 120): Promise<ExecResult> =>
    ExecResultSchema.parse(await rt.json("POST", `/threads/acme/${thread}/exec`, { command, timeout }));
  const install = async (thread: string, packages: string[]): Promise<InstallResult> =>
    InstallResultSchema.parse(await rt.json("POST", `/threads/acme/${thread}/packages`, { language: "javascript", packages }));

  it("has bun and bunx on PATH, the version the image uses, from a read-only directory holding nothing else", { timeout: 60_000 }, async () => {
    expect(BUN_VERSION).toBeTruthy();
    const t = newThread("bunv");
    const r = await exec(t, "command -v bun bunx; bun --version; bunx --version; ls -A /.tools /.tools/bin");
    expect(r.stdout, r.stderr).toBe(`/.tools/bin/bun\n/.tools/bin/bunx\n${BUN_VERSION}\n${BUN_VERSION}\n/.tools:\nbin\nbun.version\n\n/.tools/bin:\nbun\nbunx\n`);
    expect(r.exit_code).toBe(0);
    // Neither the binary nor its directory can be changed from a sandbox.
    const w = await exec(t, "for p in /.tools/bin/bun /.tools/bin/x /.tools/x; do : > $p && echo wrote $p; done; rm -f /.tools/bin/bunx && echo removed");
    expect(w.stdout).toBe("");
    expect(w.stderr).toMatch(/Read-only file system|Permission denied/);
    expect((await lstat(path.join(REPO, ".build/tools/bin/bunx"))).isSymbolicLink()).toBe(true);
    // The mount point is the sandbox's, not the user's: gone from the workspace after the run.
    expect(await lstat(path.join(ws(t), ".tools")).catch(() => null)).toBeNull();
  });

  it("`bun add` writes package.json and node_modules in the workspace, owned by the thread; bunx runs a package's bin", { timeout: 120_000 }, async () => {
    const t = newThread("bunadd");
    const r = await exec(t, "bun add tbx-greet && bun -e \"console.log(require('tbx-greet')('bun'))\" && id -u");
    expect(r.exit_code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain("hello bun from tbx-greet\n");
    const pkg = JSON.parse(await readFile(path.join(ws(t), "package.json"), "utf8"));
    expect(pkg).toMatchObject({ name: "workspace", dependencies: { "tbx-greet": "^1.2.3" } });
    const uid = Number(r.stdout.trim().split("\n").pop());
    const installed = await stat(path.join(ws(t), "node_modules/tbx-greet/index.js"));
    expect(installed.uid).toBe(uid);
    // The tenant's cache holds the download (BUN_INSTALL_CACHE_DIR), not the workspace.
    expect(await lstat(path.join(ws(t), ".bun")).catch(() => null)).toBeNull();
    // node_modules/.bin is on PATH, and bunx fetches and runs a package from the registry.
    const bin = await exec(t, "tbx-greet one && cd /tmp && bunx tbx-greet two");
    expect(bin.stdout, bin.stderr).toBe("tbx-greet cli: one\ntbx-greet cli: two\n");
    // npm in the sandbox is pointed at the same registry (NPM_REGISTRY_URL), whatever the host's npmrc says.
    const npm = await exec(t, "npm config get registry");
    expect(npm.stdout, npm.stderr).toBe(`${registry.url}\n`);
  });

  it("runs the Node example: POST /packages adds docx with bun, `bun /script.js` writes a .docx", { timeout: 180_000 }, async () => {
    const t = newThread("docx");
    const r = await install(t, ["docx"]);
    expect(r, r.message).toMatchObject({ ok: true, language: "javascript", installed: ["docx@9.15.2"] });
    const pkg = JSON.parse(await readFile(path.join(ws(t), "package.json"), "utf8"));
    expect(pkg.dependencies).toHaveProperty("docx");
    await writeFile(path.join(ws(t), "script.js"), DOCX_SCRIPT);
    const run = await exec(t, "bun /script.js");
    expect(run.stdout, run.stderr).toBe("wrote /report.docx\n");
    const docx = await readFile(path.join(ws(t), "report.docx"));
    expect(docx.subarray(0, 4).toString("latin1")).toBe("PK\u0003\u0004");
    const listing = await promisify(execFile)("/usr/bin/python3", [
      "-c",
      "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(b'made with bun' in z.read('word/document.xml'))",
      path.join(ws(t), "report.docx"),
    ]);
    expect(listing.stdout).toBe("True\n");
  });

  it("keeps the tools mount the runtime's when the workspace has a /.tools of its own (a directory, a link)", { timeout: 60_000 }, async () => {
    // A run sees /.tools as the mount, so a sandbox cannot make one; the files API (or a workspace from the bucket) can.
    const dir = newThread("tooldir");
    const put = await rt.call("PUT", `/threads/acme/${dir}/files/.tools/bin/bun`, { raw: "#!/bin/sh\necho fake bun\n" });
    expect(put.status).toBe(201);
    const d = await exec(dir, "bun --version; cat /.tools/bun.version");
    expect(d.stdout, d.stderr).toBe(`${BUN_VERSION}\n${BUN_VERSION}\n`);
    // The user's own directory is theirs: hidden during runs, never removed.
    expect(await readFile(path.join(ws(dir), ".tools/bin/bun"), "utf8")).toContain("fake bun");
    const link = newThread("toollink");
    await exec(link, 'mkdir -p /fake/bin && printf "#!/bin/sh\\necho fake bun\\n" > /fake/bin/bun && chmod +x /fake/bin/bun');
    await symlink("fake", path.join(ws(link), ".tools"));
    const l = await exec(link, "bun --version; /fake/bin/bun");
    expect(l.stdout, l.stderr).toMatch(new RegExp(`^${BUN_VERSION?.replace(/\./g, "\\.")}\n`));
    expect((await lstat(path.join(ws(link), ".tools"))).isSymbolicLink()).toBe(true);
  });

  it("gives each thread its own bun cache: threads of a tenant (each its own uid) both install", { timeout: 120_000 }, async () => {
    for (const t of [newThread("cache-a"), newThread("cache-b")]) {
      const r = await exec(t, "bun add tbx-greet >/dev/null && echo \"$BUN_INSTALL_CACHE_DIR\"");
      expect(r.exit_code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^\/\.pip-cache\/bun-\d+\n$/);
    }
  });

  it("removes a package.json link planted by the sandbox before bun writes there; the link's target is untouched", { timeout: 120_000 }, async () => {
    const t = newThread("bunlink");
    await exec(t, "true");
    const outside = path.join(rt.root, `outside-${t}.json`);
    await writeFile(outside, '{"name":"outside"}\n');
    const planted = await exec(t, `rm /package.json && ln -s ${outside} /package.json && ls -l /package.json`);
    expect(planted.exit_code, planted.stderr).toBe(0);
    const r = await install(t, ["tbx-greet"]);
    expect(r, r.message).toMatchObject({ ok: true, installed: ["tbx-greet@1.2.3"] });
    expect((await lstat(path.join(ws(t), "package.json"))).isFile()).toBe(true);
    expect(await readFile(outside, "utf8")).toBe('{"name":"outside"}\n');
  });
});
