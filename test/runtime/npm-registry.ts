import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A package made for the test: its package.json fields and its files. */
export interface LocalPackage {
  name: string;
  version: string;
  files: Record<string, string>;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
}

export interface NpmRegistry {
  /** The registry root, e.g. "http://127.0.0.1:41234/" (trailing slash). */
  url: string;
  /** Every request path, in order. */
  requests: string[];
  /** Tarball downloads of a package name. */
  downloads(name: string): number;
  stop(): Promise<void>;
}

interface Tarball {
  name: string;
  version: string;
  manifest: Record<string, unknown>;
  bytes: Buffer;
}

type PackageJson = { name: string; version: string; dependencies?: Record<string, string> };

/** `tar` of a package directory as npm packs it: every file under `package/`. */
async function pack(dir: string, into: string): Promise<Buffer> {
  await promisify(execFile)("tar", ["-czf", into, "--owner=0", "--group=0", "--transform", "s,^\\.,package,", "-C", dir, "."], { timeout: 60_000 });
  return readFile(into);
}

/**
 * A package of the repository's node_modules and its dependencies, as Node would resolve them from there (a nested
 * node_modules first), for a registry that needs no network: e.g. the real `docx` (a dev dependency for this).
 */
async function installedTree(name: string): Promise<{ dir: string; pkg: PackageJson }[]> {
  const found = new Map<string, { dir: string; pkg: PackageJson }>();
  const visit = async (dep: string, from: string) => {
    for (let d = from; d.startsWith(REPO); d = path.dirname(d)) {
      const dir = path.join(d, "node_modules", dep);
      if (!existsSync(path.join(dir, "package.json"))) continue;
      const pkg = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as PackageJson;
      const key = `${pkg.name}@${pkg.version}`;
      if (found.has(key)) return;
      found.set(key, { dir, pkg });
      for (const next of Object.keys(pkg.dependencies ?? {})) await visit(next, dir);
      return;
    }
    throw new Error(`${dep} is not installed in ${REPO}/node_modules (npm ci)`);
  };
  await visit(name, REPO);
  return [...found.values()];
}

/**
 * An npm registry on loopback serving `local` packages (built here) and `installed` ones (packed from the repository's
 * node_modules with their dependencies): packuments with sha512 integrity, and tarballs. Nothing comes from the internet.
 */
export async function startNpmRegistry(opts: { local?: LocalPackage[]; installed?: string[] }): Promise<NpmRegistry> {
  const work = await mkdtemp(path.join(os.tmpdir(), "threadbox-npm-"));
  const tarballs: Tarball[] = [];
  try {
    let n = 0;
    const add = async (dir: string, pkg: PackageJson & Record<string, unknown>) => {
      const bytes = await pack(dir, path.join(work, `${n++}.tgz`));
      tarballs.push({ name: pkg.name, version: pkg.version, manifest: pkg, bytes });
    };
    for (const p of opts.local ?? []) {
      const dir = path.join(work, `src-${n}`);
      const manifest = { name: p.name, version: p.version, dependencies: p.dependencies ?? {}, ...(p.bin ? { bin: p.bin } : {}) };
      for (const [file, text] of Object.entries({ ...p.files, "package.json": JSON.stringify(manifest, null, 2) })) {
        await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
        await writeFile(path.join(dir, file), text);
      }
      await add(dir, manifest);
    }
    for (const name of opts.installed ?? []) {
      for (const { dir, pkg } of await installedTree(name)) await add(dir, pkg as PackageJson & Record<string, unknown>);
    }
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }

  const requests: string[] = [];
  const downloaded: string[] = [];
  let base = "";
  const packument = (name: string) => {
    const versions = tarballs.filter((t) => t.name === name);
    if (versions.length === 0) return null;
    const latest = versions.at(-1)?.version;
    return {
      name,
      "dist-tags": { latest },
      versions: Object.fromEntries(
        versions.map((t) => {
          const { scripts: _, devDependencies: __, ...meta } = t.manifest;
          const integrity = `sha512-${createHash("sha512").update(t.bytes).digest("base64")}`;
          const shasum = createHash("sha1").update(t.bytes).digest("hex");
          const tarball = `${base}-/${encodeURIComponent(name)}/${t.version}.tgz`;
          return [t.version, { ...meta, name, version: t.version, dist: { tarball, integrity, shasum } }];
        }),
      ),
    };
  };

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://registry").pathname;
    requests.push(pathname);
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "method not allowed\n");
    const tar = /^\/-\/([^/]+)\/([^/]+)\.tgz$/.exec(pathname);
    if (tar) {
      const name = decodeURIComponent(tar[1] ?? "");
      const t = tarballs.find((x) => x.name === name && x.version === tar[2]);
      if (!t) return send(404, "application/json", '{"error":"not found"}');
      if (req.method === "GET") downloaded.push(name);
      return send(200, "application/octet-stream", t.bytes);
    }
    // `/docx`, `/@types%2fnode` or `/@types/node`.
    const doc = packument(decodeURIComponent(pathname.slice(1)));
    if (!doc) return send(404, "application/json", '{"error":"not found"}');
    return send(200, "application/json", JSON.stringify(doc));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  return {
    url: base,
    requests,
    downloads: (name) => downloaded.filter((d) => d === name).length,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(work, { recursive: true, force: true });
    },
  };
}
