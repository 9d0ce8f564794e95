import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { IMAGE, podman } from "./container.ts";

// What the image carries and what it must not: no compiler, no dev dependency, no package or npm cache, no build
// secret, no test or local file; a font cache that sandboxes can use as it is; tini in front of the entrypoint.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A shell script in a throwaway container of the image, as root, without the entrypoint. */
async function inImage(script: string) {
  const r = await podman(["run", "--rm", "--ulimit", "nofile=16384:16384", "--ulimit", "nproc=8192:8192", "--network", "none", "--entrypoint", "sh", IMAGE, "-c", script]);
  if (r.exitCode !== 0) throw new Error(`in the image: ${script}\n${r.stderr}`);
  return r.stdout;
}

async function config(): Promise<{ Entrypoint: string[]; Cmd: string[]; Env: string[]; ExposedPorts: Record<string, unknown> }> {
  const r = await podman(["image", "inspect", "--format", "{{json .Config}}", IMAGE]);
  return JSON.parse(r.stdout);
}

describe("the image's contents", () => {
  it("starts tini, then the entrypoint, then the server, listening on 8788 by default", async () => {
    const c = await config();
    expect(c.Entrypoint).toEqual(["/usr/bin/tini", "--", "/app/runtime-container/entrypoint.sh"]);
    expect(c.Cmd).toEqual(["node", "--import", "tsx", "runtime-container/src/main.ts"]);
    expect(Object.keys(c.ExposedPorts)).toEqual(["8788/tcp"]);
    expect(c.Env).toEqual(expect.arrayContaining(["HOST=0.0.0.0", "PORT=8788", "NODE_ENV=production", "STATE_DIR=/srv/threadbox/state"]));
    // The build's CA bundle was a secret of the npm step: nothing of it in the image's settings or files.
    expect(c.Env.some((e) => e.startsWith("NODE_EXTRA_CA_CERTS="))).toBe(false);
    expect(await inImage("ls -A /run/secrets 2>/dev/null; echo end")).toBe("end");
  });

  it("carries no compiler, no dev dependency and no cache", async () => {
    const found = await inImage(
      "for t in gcc cc c++ g++ clang make ld as cpp; do command -v $t; done; " +
        "ls -d /root/.npm /root/.cache 2>/dev/null; ls -A /tmp; ls /var/lib/apt/lists | grep -v -x -e lock -e partial; " +
        "ls /var/cache/apt; find /usr/share/doc -type f ! -name copyright | head -3; echo end",
    );
    expect(found).toBe("archives\nend");
    const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as Record<string, Record<string, string>>;
    const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
    const present = (await inImage(`cd /app/node_modules && for p in ${names.join(" ")}; do [ -e "$p/package.json" ] && echo "$p"; done; true`)).split("\n");
    // A dev dependency may be there only because a production one needs it too (the lock file says which are dev only).
    const lock = JSON.parse(readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = names.filter((n) => lock.packages[`node_modules/${n}`]?.dev === true);
    expect(present.filter((n) => devOnly.includes(n))).toEqual([]);
    expect(present).toEqual(expect.arrayContaining(Object.keys(pkg.dependencies ?? {})));
  });

  it("has the runtime and its helper, but no test, Dockerfile or local state of the repository", async () => {
    const listing = await inImage("cd /app && find . -path ./node_modules -prune -o -print | sort");
    expect(listing).toContain("./.build/seccomp-exec\n");
    // Preloaded into proot by the launcher: without it the tracer layer is missing and the runtime refuses to start.
    expect(listing).toContain("./.build/nondumpable.so\n");
    expect(listing).toContain("./runtime-container/src/main.ts\n");
    expect(listing).toContain("./shared/src/index.ts\n");
    expect(listing).not.toMatch(/\.test\.ts$|Dockerfile|\.dev\.vars|\.data|\/test\/|\/worker\//m);
  });

  it("has what each thread's network namespace needs: slirp4netns, nft and nsenter", async () => {
    const found = await inImage("for t in slirp4netns nft nsenter unshare mountpoint; do command -v $t; done");
    expect(found.trim().split("\n").map((p) => path.basename(p))).toEqual(["slirp4netns", "nft", "nsenter", "unshare", "mountpoint"]);
  });

  it("has what notebooks and install_jupyter need without a package index: nbformat and ipykernel", async () => {
    const out = await inImage("python3 -c 'import nbformat, ipykernel; print(nbformat.__name__, ipykernel.__name__)'");
    expect(out.trim()).toBe("nbformat ipykernel");
  });

  it("has a font cache that holds for any uid, so GUI runs print no Fontconfig errors", async () => {
    const out = await inImage("ls /var/cache/fontconfig | grep -c cache-; setpriv --reuid=1234567 --regid=1234567 --clear-groups env HOME=/nonexistent fc-list 2>&1 >/dev/null; echo end");
    expect(out).toMatch(/^[1-9]\d*\nend$/);
  });

  it("builds from the same context whichever way it is built: both ignore files say the same", () => {
    const rules = (file: string) => readFileSync(path.join(REPO, file), "utf8").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
    expect(rules(".dockerignore")).toEqual(rules("runtime-container/Dockerfile.dockerignore"));
  });

  it("stays within its size budget (1.5 GB; it was 1.8 GB with compilers pulled in by scipy)", async () => {
    const r = await podman(["image", "inspect", "--format", "{{.Size}}", IMAGE]);
    const bytes = Number(r.stdout.trim());
    console.log(`image ${IMAGE}: ${(bytes / 1e6).toFixed(0)} MB uncompressed`);
    expect(bytes).toBeLessThan(1.5e9);
  });
});
