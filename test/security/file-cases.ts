import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { CaseContext, HostileCase } from "./hostile.ts";
import { TENANT } from "./target.ts";

/**
 * SECURITY.md's file-API rows: links the sandbox plants (X10) and a directory it swaps for a link while the
 * server writes into it (X11). The server (root, or the runtime's uid) must never follow them out of the workspace.
 */
const decoyPath = (ctx: CaseContext) => path.join(ctx.target.rt.root, `decoy-${ctx.marker}`);
const outsidePath = (ctx: CaseContext) => path.join(ctx.target.rt.root, `outside-${ctx.marker}`);
const files = (ctx: CaseContext, rel = "") => `/threads/${TENANT}/${ctx.thread}/files${rel}`;

async function answer(ctx: CaseContext, method: string, target: string, raw?: string) {
  const res = await ctx.target.rt.call(method, target, raw === undefined ? {} : { raw });
  return { status: res.status, text: await res.text() };
}

/** Refused (4xx, never a crash), or answered without host content. */
function expectNoHostContent(ctx: CaseContext, r: { status: number; text: string }, what: string): void {
  ctx.expect(r.status, `${what}: ${r.text.slice(0, 300)}`).toBeLessThan(500);
  ctx.expect(r.text, what).not.toMatch(/root:x:0:0|HOST DECOY/);
}

const SWAP_LOOP = `mkdir -p /d
i=0
while [ $i -lt 3000 ] && [ ! -e /x11-stop ]; do
  mv /d /d.real && ln -s "$OUTSIDE" /d && rm /d && mv /d.real /d
  i=$((i+1))
done
echo swaps=$i`;

/** Upload statuses of X11, by marker. */
const uploads = new Map<string, number[]>();

export const FILE_CASES: HostileCase[] = [
  {
    id: "X10",
    title: "plant x -> /etc/passwd and d -> /; read, list, upload, download through the file API",
    route: "exec",
    async prepare(ctx) {
      writeFileSync(decoyPath(ctx), "HOST DECOY");
    },
    body: (ctx) => ({ command: 'ln -s /etc/passwd /x && ln -s / /d && ln -s "$DECOY" /y && echo planted', env: { DECOY: decoyPath(ctx) } }),
    async check(out, ctx) {
      ctx.expect(out.exec.stdout).toBe("planted\n");
      expectNoHostContent(ctx, await answer(ctx, "GET", files(ctx, "/x")), "read x");
      expectNoHostContent(ctx, await answer(ctx, "GET", files(ctx, "/y")), "read y");
      expectNoHostContent(ctx, await answer(ctx, "GET", files(ctx, "/d/etc/passwd")), "read d/etc/passwd");
      const listing = await answer(ctx, "GET", `${files(ctx)}?path=d&recursive=1`);
      expectNoHostContent(ctx, listing, "list d");
      ctx.expect(listing.text, "a listing of the host's /").not.toMatch(/"(etc|usr)\b/);

      const evil = `evil-${ctx.marker}`;
      const put = await answer(ctx, "PUT", files(ctx, `/d/${evil}`), "evil");
      ctx.expect(put.status, put.text).toBeLessThan(500);
      ctx.expect(existsSync(`/${evil}`), "an upload through d landed in the host's /").toBe(false);
      // Writing a planted name replaces the link; the host file stays as it was.
      ctx.expect((await answer(ctx, "PUT", files(ctx, "/y"), "replaced")).status).toBe(201);
      ctx.expect(readFileSync(decoyPath(ctx), "utf8")).toBe("HOST DECOY");
      ctx.expect(await answer(ctx, "GET", files(ctx, "/y"))).toEqual({ status: 200, text: "replaced" });
    },
  },
  {
    id: "X11",
    title: "swap a directory for a symlink in a loop during uploads",
    route: "exec",
    async prepare(ctx) {
      mkdirSync(outsidePath(ctx), { mode: 0o755 });
    },
    body: (ctx) => ({ command: SWAP_LOOP, env: { OUTSIDE: outsidePath(ctx) }, timeout: 30 }),
    async during(ctx, settled) {
      const statuses: number[] = [];
      for (let i = 0; i < 60 && !settled(); i++) statuses.push((await answer(ctx, "PUT", files(ctx, `/d/u-${i}`), `upload ${i}`)).status);
      uploads.set(ctx.marker, statuses);
      await answer(ctx, "PUT", files(ctx, "/x11-stop"), "");
    },
    check(out, ctx) {
      ctx.expect(out.exec.stdout).toMatch(/^swaps=\d+\n$/);
      const statuses = uploads.get(ctx.marker) ?? [];
      ctx.expect(statuses.length, "no upload overlapped the swaps").toBeGreaterThan(0);
      for (const s of statuses) ctx.expect([201, 400, 404, 409]).toContain(s);
      ctx.expect(readdirSync(outsidePath(ctx)), "uploads followed the link out of the workspace").toEqual([]);
      ctx.expect(lstatSync(path.join(ctx.dir, "d")).isDirectory()).toBe(true);
    },
  },
];
