import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PackageIndex, startPackageIndex } from "./package-index.ts";

let index: PackageIndex;
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "threadbox-pip-"));
  index = await startPackageIndex([
    { name: "tbx-hello", version: "1.0.0" },
    { name: "tbx-hello", version: "2.0.0" },
    { name: "tbx-app", version: "0.1.0", requires: ["tbx-hello<2"] },
  ]);
});
afterAll(async () => {
  await index?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A venv that borrows Debian's pip from the system site-packages, so it needs no pip of its own. */
async function venv(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  await execa("/usr/bin/python3", ["-m", "venv", "--system-site-packages", "--without-pip", dir]);
  return path.join(dir, "bin", "python");
}

// No user or machine configuration: PIP_CONFIG_FILE=/dev/null makes pip skip every config file, and the clean
// environment drops PIP_* variables (find-links, extra index URLs) set on the host.
const run = (python: string, args: string[]) =>
  execa(python, args, {
    env: { PATH: "/usr/bin:/bin", HOME: tmp, PIP_CONFIG_FILE: "/dev/null" },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });

// pip mounts its caching HTTP adapter only for https and trusted hosts: without --trusted-host, a plain-http index
// is never cached and every install downloads every wheel again.
const pipInstall = (python: string, ...reqs: string[]) =>
  run(python, [
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "--no-input",
    "--index-url",
    index.url,
    "--trusted-host",
    "127.0.0.1",
    "--cache-dir",
    path.join(tmp, "cache"),
    ...reqs,
  ]);

/** Installed tbx-* distributions and their versions, as importlib.metadata sees them. */
const versions = async (python: string) => {
  const r = await run(python, [
    "-c",
    "import importlib.metadata as m, json\n" +
      "print(json.dumps({d.name: d.version for d in m.distributions() if d.name.startswith('tbx-')}))",
  ]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, string>;
};

describe("fake package index", () => {
  it("lists projects and files per PEP 503, normalizing names and tolerating a missing slash", async () => {
    const root = await fetch(index.url).then((r) => r.text());
    expect(root).toContain('<a href="/simple/tbx-app/">tbx-app</a>');
    const res = await fetch(new URL("/simple/TBX_Hello", index.url));
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/href="\/files\/tbx_hello-2\.0\.0-py3-none-any\.whl#sha256=[0-9a-f]{64}"/);
    expect((await fetch(new URL("/simple/nope/", index.url))).status).toBe(404);
    expect((await fetch(new URL("/files/nope.whl", index.url))).status).toBe(404);
  });

  it("installs the newest match, then downgrades for a dependent's constraint", async () => {
    const python = await venv("one");
    const first = await pipInstall(python, "tbx-hello>=2");
    expect(first.exitCode, first.stderr).toBe(0);
    const hello = await run(python, ["-c", "import tbx_hello; print(tbx_hello.hello())"]);
    expect(hello.stdout).toBe("hello from tbx-hello 2.0.0");
    expect(await versions(python)).toEqual({ "tbx-hello": "2.0.0" });

    const app = await pipInstall(python, "tbx-app");
    expect(app.exitCode, app.stderr).toBe(0);
    expect(await versions(python)).toEqual({ "tbx-hello": "1.0.0", "tbx-app": "0.1.0" });
    expect(index.downloads("tbx-hello")).toBe(2);
    expect(index.downloads("TBX.Hello")).toBe(2);
    expect(index.downloads("tbx-app")).toBe(1);
  });

  it("serves a second venv from pip's cache without downloading the wheel again", async () => {
    const before = index.downloads("tbx-hello");
    const pagesBefore = index.requests.filter((p) => p === "/simple/tbx-hello/").length;
    const python = await venv("two");
    const r = await pipInstall(python, "tbx-hello==2.0.0");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await versions(python)).toEqual({ "tbx-hello": "2.0.0" });
    expect(r.stdout).toContain("Using cached");
    expect(index.downloads("tbx-hello")).toBe(before);
    expect(index.requests.filter((p) => p === "/simple/tbx-hello/").length).toBeGreaterThan(pagesBefore);
  });

  it("fails a missing package with pip's own message", async () => {
    const python = await venv("three");
    const r = await pipInstall(python, "tbx-missing");
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("No matching distribution found for tbx-missing");
    expect(index.requests).toContain("/simple/tbx-missing/");
  });
});
