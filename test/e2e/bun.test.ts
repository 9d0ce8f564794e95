import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecResult, InstallResult } from "../../shared/src/index.ts";
import { type NpmRegistry, startNpmRegistry } from "../runtime/npm-registry.ts";
import { createThread, expectJson, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Issue 16 end to end: the workspace design's Node example through the public API, with the runtime's npm registry
// on loopback (NPM_REGISTRY_URL): `docx` added with bun, a script run with `bun /script.js`, the .docx downloaded.

let registry: NpmRegistry;
let stack: Stack;
beforeAll(async () => {
  registry = await startNpmRegistry({ installed: ["docx"] });
  stack = await startStack({ runtime: { NPM_REGISTRY_URL: registry.url } });
});
afterAll(async () => {
  await stack?.stop();
  await registry?.stop();
});

const SCRIPT = `import { Document, Packer, Paragraph } from "docx";
import { writeFileSync } from "node:fs";
const doc = new Document({ sections: [{ children: [new Paragraph("Minutes of the meeting, by bun")] }] });
writeFileSync("/minutes.docx", await Packer.toBuffer(doc));
console.log(Bun.version);
`;

describe("bun through the public API", () => {
  it("adds docx with bun, runs a script with `bun /script.js` and serves the .docx it wrote", { timeout: 180_000 }, async () => {
    const thread = await createThread(stack, uniqueId("bun"));
    const added = await expectJson<InstallResult>(
      stack.api("POST", `/v1/threads/${thread}/packages`, { body: { language: "javascript", packages: ["docx"] } }),
      200,
    );
    expect(added, added.message).toMatchObject({ ok: true, language: "javascript", installed: ["docx@9.15.2"] });
    expect(registry.downloads("docx")).toBe(1);
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/script.js`, { raw: SCRIPT }), 201);
    const run = await expectJson<ExecResult>(stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command: "bun /script.js" } }), 200);
    expect(run, run.stderr).toMatchObject({ exit_code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });

    const pkg = await stack.api("GET", `/v1/threads/${thread}/files/package.json`);
    expect(JSON.parse(await pkg.text()).dependencies).toHaveProperty("docx");
    const res = await stack.api("GET", `/v1/threads/${thread}/files/minutes.docx`);
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const dir = await mkdtemp(path.join(os.tmpdir(), "threadbox-docx-"));
    try {
      await writeFile(path.join(dir, "minutes.docx"), bytes);
      const check = await promisify(execFile)("/usr/bin/python3", [
        "-c",
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(b'by bun' in z.read('word/document.xml'))",
        path.join(dir, "minutes.docx"),
      ]);
      expect(check.stdout).toBe("True\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
