import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

export interface FakePackage {
  /** Distribution name, e.g. "tbx-hello" or "Tbx_Colors". */
  name: string;
  version: string;
  /** Top-level import name; default: the name lowercased with - and . replaced by _. */
  module?: string;
  /** Contents of <module>/__init__.py; default: `__version__` and a `hello()` naming the package and version. */
  code?: string;
  /** Requires-Dist lines, e.g. ["tbx-base>=1"]. */
  requires?: string[];
}

export interface PackageIndex {
  /** PEP 503 simple index root, e.g. "http://127.0.0.1:41234/simple/" (trailing slash). */
  url: string;
  /** Every request path, in order, so tests can assert that a second install downloaded nothing (a cache hit). */
  requests: string[];
  /** Wheel downloads for a distribution name (any spelling; normalized). */
  downloads(name: string): number;
  stop(): Promise<void>;
}

interface Wheel {
  project: string;
  file: string;
  sha256: string;
  bytes: Buffer;
}

/** PEP 503 project name, as in the index URL. */
export const normalizeName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, "-");

// PEP 508 names; versions kept simple, since both end up in file names and HTML.
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const VERSION = /^[0-9][0-9A-Za-z.+!]*$/;
const MODULE = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Writes each wheel from a JSON spec: the given files plus a PEP 376 RECORD, with fixed timestamps so the bytes are
// reproducible. Stdlib only, so no pip or setuptools is needed to build.
const BUILD_WHEELS = `
import base64, csv, hashlib, io, json, sys, zipfile
for wheel in json.load(open(sys.argv[1])):
    rows = []
    with zipfile.ZipFile(wheel["path"], "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in wheel["files"].items():
            data = text.encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append([name, "sha256=" + digest, str(len(data))])
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
        record = wheel["record"]
        rows.append([record, "", ""])
        out = io.StringIO()
        csv.writer(out, lineterminator="\\n").writerows(rows)
        z.writestr(zipfile.ZipInfo(record, (1980, 1, 1, 0, 0, 0)), out.getvalue())
`;

function wheelSpec(pkg: FakePackage, dir: string) {
  if (!NAME.test(pkg.name)) throw new Error(`invalid distribution name: ${pkg.name}`);
  if (!VERSION.test(pkg.version)) throw new Error(`invalid version: ${pkg.version}`);
  const module = pkg.module ?? pkg.name.toLowerCase().replace(/[-.]/g, "_");
  if (!MODULE.test(module)) throw new Error(`invalid module name: ${module}`);
  // PEP 427: the wheel's name part uses underscores for every run of -_. .
  const stem = `${pkg.name.toLowerCase().replace(/[-_.]+/g, "_")}-${pkg.version}`;
  const distInfo = `${stem}.dist-info`;
  const code =
    pkg.code ??
    `__version__ = "${pkg.version}"\ndef hello():\n    return "hello from ${pkg.name} ${pkg.version}"\n`;
  const metadata = [
    "Metadata-Version: 2.1",
    `Name: ${pkg.name}`,
    `Version: ${pkg.version}`,
    ...(pkg.requires ?? []).map((r) => `Requires-Dist: ${r}`),
  ];
  const wheel = ["Wheel-Version: 1.0", "Generator: threadbox-test", "Root-Is-Purelib: true", "Tag: py3-none-any"];
  const file = `${stem}-py3-none-any.whl`;
  return {
    project: normalizeName(pkg.name),
    file,
    path: path.join(dir, file),
    files: {
      [`${module}/__init__.py`]: code,
      [`${distInfo}/METADATA`]: `${metadata.join("\n")}\n\n`,
      [`${distInfo}/WHEEL`]: `${wheel.join("\n")}\n`,
    },
    record: `${distInfo}/RECORD`,
  };
}

async function buildWheels(packages: FakePackage[], dir: string): Promise<Wheel[]> {
  const specs = packages.map((p) => wheelSpec(p, dir));
  const files = new Set<string>();
  for (const s of specs) {
    if (files.has(s.file)) throw new Error(`duplicate package: ${s.file}`);
    files.add(s.file);
  }
  const specFile = path.join(dir, "wheels.json");
  await writeFile(specFile, JSON.stringify(specs));
  await promisify(execFile)("/usr/bin/python3", ["-c", BUILD_WHEELS, specFile], { timeout: 30_000 });
  return Promise.all(
    specs.map(async (s) => {
      const bytes = await readFile(s.path);
      return { project: s.project, file: s.file, bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
    }),
  );
}

const page = (links: string[]) =>
  `<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0"></head><body>\n${links.join("<br>\n")}\n</body></html>\n`;

/** Builds real pure-Python wheels for `packages` and serves them as a PEP 503 simple index on loopback. */
export async function startPackageIndex(packages: FakePackage[]): Promise<PackageIndex> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "threadbox-index-"));
  let wheels: Wheel[];
  try {
    wheels = await buildWheels(packages, dir);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const requests: string[] = [];
  const downloaded: string[] = [];

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://index").pathname;
    requests.push(pathname);
    const send = (status: number, type: string, body: string | Buffer, cache = "no-cache") => {
      res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": cache });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    const parts = pathname.split("/").filter(Boolean);
    const html = "text/html; charset=utf-8";
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "method not allowed\n");
    if (parts[0] === "simple" && parts.length === 1) {
      const projects = [...new Set(wheels.map((w) => w.project))].sort();
      return send(200, html, page(projects.map((p) => `<a href="/simple/${p}/">${p}</a>`)));
    }
    if (parts[0] === "simple" && parts.length === 2) {
      const project = normalizeName(decodeURIComponent(parts[1] ?? ""));
      const files = wheels.filter((w) => w.project === project);
      if (files.length === 0) return send(404, "text/plain", "not found\n");
      return send(200, html, page(files.map((w) => `<a href="/files/${w.file}#sha256=${w.sha256}">${w.file}</a>`)));
    }
    const wheel = parts[0] === "files" && parts.length === 2 ? wheels.find((w) => w.file === parts[1]) : undefined;
    if (!wheel) return send(404, "text/plain", "not found\n");
    if (req.method === "GET") downloaded.push(wheel.project);
    // Like PyPI's file host: wheels never change, which is what lets pip's HTTP cache skip a second download.
    return send(200, "application/octet-stream", wheel.bytes, "max-age=365000000, immutable, public");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/simple/`,
    requests,
    downloads: (name) => downloaded.filter((p) => p === normalizeName(name)).length,
    async stop() {
      // pip keeps connections alive; close() alone would wait for them.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
