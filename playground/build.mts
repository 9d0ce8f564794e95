/**
 * Builds the worker's static assets into .build/web (wrangler.toml `[assets]`): the landing page, the playground
 * (playground/src bundled with esbuild, the SDK included) and the API reference (Swagger UI from swagger-ui-dist,
 * served from this origin, never a CDN). Run by wrangler before `dev` and `deploy` (`[build]`) and by
 * scripts/setup.sh; does nothing when its inputs have not changed since the last build (`--force` rebuilds). Each
 * file is written aside and renamed into place, so a wrangler starting meanwhile never reads half a file.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, ".build/web");
const STAMP = path.join(ROOT, ".build/web.stamp");
const SWAGGER = path.join(ROOT, "node_modules/swagger-ui-dist");
const INPUTS = ["playground", "client/src", "shared/src", "package-lock.json"];

function files(rel: string): string[] {
  const abs = path.join(ROOT, rel);
  if (!statSync(abs).isDirectory()) return [rel];
  return readdirSync(abs, { withFileTypes: true }).flatMap((d) => files(path.join(rel, d.name)));
}

/** Names, sizes and modification times of every input: a cheap fingerprint that changes with any edit. */
function fingerprint(): string {
  const hash = createHash("sha256");
  for (const f of INPUTS.flatMap(files).sort()) {
    const s = statSync(path.join(ROOT, f));
    hash.update(`${f}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return hash.digest("hex");
}

function write(rel: string, data: string | Uint8Array): void {
  const dest = path.join(OUT, rel);
  mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, dest);
}

/**
 * zod's classic API exports every locale's messages (about 250 KB); the SDK uses English only, so the bundle gets
 * that one (the first load of the playground stays small).
 */
const zodEnglishOnly: esbuild.Plugin = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}zod${path.sep}`) ? { path: path.join(path.dirname(args.importer), "../locales/en.js"), namespace: "zod-locales" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: path.dirname(args.path),
    }));
  },
};

async function bundle(entry: string, out: string): Promise<void> {
  const result = await esbuild.build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    conditions: ["threadbox-source"],
    legalComments: "none",
    write: false,
    plugins: [zodEnglishOnly],
    logLevel: "warning",
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
  write(out, file.contents);
}

async function css(entry: string, out: string): Promise<void> {
  const result = await esbuild.build({ entryPoints: [path.join(ROOT, entry)], bundle: true, minify: true, write: false, logLevel: "warning" });
  const [file] = result.outputFiles;
  if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
  write(out, file.contents);
}

const copy = (from: string, to: string) => write(to, readFileSync(from));
/** A vendored script or style sheet without its source map reference (the maps are not served). */
const copyWithoutMap = (from: string, to: string) => write(to, readFileSync(from, "utf8").replace(/\n?\/[/*]# sourceMappingURL=\S+( \*\/)?\s*$/, "\n"));

const force = process.argv.includes("--force");
const print = readFileSync(path.join(SWAGGER, "package.json"), "utf8") + fingerprint();
let previous = "";
try {
  previous = readFileSync(STAMP, "utf8");
} catch {
  // never built
}
if (!force && previous === print && statSync(OUT, { throwIfNoEntry: false })?.isDirectory()) {
  process.exit(0);
}

copy(path.join(ROOT, "playground/landing.html"), "index.html");
copy(path.join(ROOT, "playground/index.html"), "playground/index.html");
await css("playground/style.css", "playground/app.css");
await bundle("playground/src/main.ts", "playground/app.js");
copy(path.join(ROOT, "playground/docs/index.html"), "docs/index.html");
await css("playground/docs/docs.css", "docs/docs.css");
await bundle("playground/docs/docs.ts", "docs/docs.js");
copyWithoutMap(path.join(SWAGGER, "swagger-ui-bundle.js"), "docs/swagger-ui-bundle.js");
copyWithoutMap(path.join(SWAGGER, "swagger-ui.css"), "docs/swagger-ui.css");
// Swagger UI is Apache-2.0: its license and notice travel with it.
copy(path.join(SWAGGER, "LICENSE"), "docs/swagger-ui-license.txt");
copy(path.join(SWAGGER, "NOTICE"), "docs/swagger-ui-notice.txt");
mkdirSync(path.dirname(STAMP), { recursive: true });
writeFileSync(STAMP, print);
process.stderr.write(`[playground] built the static assets into ${path.relative(ROOT, OUT)}\n`);
