import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { CaseContext, HostileCase } from "./hostile.ts";
import { TENANT } from "./target.ts";

/**
 * SECURITY.md's checkpoint rows (C1–C5): what the sandbox plants in its workspace before a checkpoint, or puts in
 * place of its files before a restore, must never make the root runtime read or write outside the workspace, hang,
 * or keep more than its limits. The suite's runtime records at most CHECKPOINT_FILES entries per checkpoint.
 */
export const CHECKPOINT_FILES = 2000;

const decoy = (ctx: CaseContext) => path.join(ctx.target.rt.root, `decoy-${ctx.marker}`);
const decoyDir = (ctx: CaseContext) => path.join(ctx.target.rt.root, `decoy-dir-${ctx.marker}`);
const store = (ctx: CaseContext) => path.join(ctx.target.rt.workspaces, TENANT, ".checkpoints", ctx.thread);
const base = (ctx: CaseContext) => `/threads/${TENANT}/${ctx.thread}`;

async function call(ctx: CaseContext, method: string, rel: string, body: unknown = method === "GET" ? undefined : {}) {
  const res = await ctx.target.rt.call(method, `${base(ctx)}${rel}`, body === undefined ? {} : { body });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** Takes a checkpoint (it must succeed) and returns it. */
async function take(ctx: CaseContext): Promise<{ id: string; skipped: { path: string; type: string }[] }> {
  const r = await call(ctx, "POST", "/checkpoints");
  ctx.expect(r.status, r.text).toBe(200);
  return r.json() as unknown as { id: string; skipped: { path: string; type: string }[] };
}

/** No stored content is the host's (the decoy, /etc/passwd) or another thread's. */
function expectNoHostContent(ctx: CaseContext): void {
  const blobs = path.join(store(ctx), "blobs");
  for (const name of existsSync(blobs) ? readdirSync(blobs) : []) {
    ctx.expect(readFileSync(path.join(blobs, name), "utf8"), name).not.toMatch(/root:x:0:0|HOST DECOY|BYSTANDER/);
  }
}

async function execIn(ctx: CaseContext, command: string): Promise<string> {
  const r = await call(ctx, "POST", "/exec", { command });
  ctx.expect(r.status, r.text).toBe(200);
  return String(r.json().stdout);
}

export const CHECKPOINT_CASES: HostileCase[] = [
  {
    id: "C1",
    title: "plant links to /etc/passwd, /, a host file and another thread's workspace; checkpoint and restore",
    route: "exec",
    async prepare(ctx) {
      writeFileSync(decoy(ctx), "HOST DECOY");
      writeFileSync(path.join(ctx.target.dir(ctx.bystander), "secret.txt"), "BYSTANDER");
    },
    body: (ctx) => ({
      command: 'ln -s /etc/passwd x && ln -s / d && ln -s "$DECOY" y && ln -s "$OTHER" o && ln -s ../"$OTHER_ID"/secret.txt rel && echo planted',
      env: { DECOY: decoy(ctx), OTHER: ctx.target.dir(ctx.bystander), OTHER_ID: ctx.bystander },
    }),
    async check(out, ctx) {
      ctx.expect(out.exec.stdout).toBe("planted\n");
      const cp = await take(ctx);
      ctx.expect(cp.skipped).toEqual([]);
      expectNoHostContent(ctx);
      await execIn(ctx, "rm x d y o rel");
      const r = await call(ctx, "POST", `/checkpoints/${cp.id}/restore`);
      ctx.expect(r.status, r.text).toBe(200);
      // Links come back as links with their text; nothing was followed or written through them.
      ctx.expect(await execIn(ctx, "readlink x d o rel")).toBe(`/etc/passwd\n/\n${ctx.target.dir(ctx.bystander)}\n../${ctx.bystander}/secret.txt\n`);
      ctx.expect(readFileSync(decoy(ctx), "utf8")).toBe("HOST DECOY");
      ctx.expect(readFileSync(path.join(ctx.target.dir(ctx.bystander), "secret.txt"), "utf8")).toBe("BYSTANDER");
    },
  },
  {
    id: "C2",
    title: "a FIFO (and a socket) in the workspace at checkpoint time",
    route: "exec",
    body: () => ({ command: "mkfifo p && python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.bind('sock')\" && echo made" }),
    async check(out, ctx) {
      ctx.expect(out.exec.stdout).toBe("made\n");
      const cp = await take(ctx);
      ctx.expect(cp.skipped).toEqual(expect_(ctx, [{ path: "p", type: "fifo" }, { path: "sock", type: "socket" }]));
      await execIn(ctx, "rm p sock");
      const r = await call(ctx, "POST", `/checkpoints/${cp.id}/restore`);
      ctx.expect(r.status, r.text).toBe(200);
      ctx.expect(await execIn(ctx, "ls p sock 2>&1 | wc -l; test -e p || echo no-fifo")).toContain("no-fifo");
    },
  },
  {
    id: "C3",
    title: "between checkpoint and restore, replace a file and a directory by links to host paths",
    route: "exec",
    async prepare(ctx) {
      writeFileSync(decoy(ctx), "HOST DECOY");
      mkdirSync(decoyDir(ctx), { mode: 0o777 });
    },
    body: () => ({ command: "mkdir -p sub && echo mine > f.txt && echo inner > sub/g.txt && echo made" }),
    async check(out, ctx) {
      ctx.expect(out.exec.stdout).toBe("made\n");
      const cp = await take(ctx);
      const swap = `rm f.txt && ln -s "${decoy(ctx)}" f.txt && rm -r sub && ln -s "${decoyDir(ctx)}" sub && echo swapped`;
      ctx.expect(await execIn(ctx, swap)).toBe("swapped\n");
      const r = await call(ctx, "POST", `/checkpoints/${cp.id}/restore`);
      ctx.expect(r.status, r.text).toBe(200);
      ctx.expect(readFileSync(decoy(ctx), "utf8"), "the restore wrote through the link").toBe("HOST DECOY");
      ctx.expect(readdirSync(decoyDir(ctx)), "the restore wrote into the linked directory").toEqual([]);
      ctx.expect(await execIn(ctx, "test -L f.txt || cat f.txt; test -L sub || cat sub/g.txt")).toBe("mine\ninner\n");
    },
  },
  {
    id: "C4",
    title: `more entries than a checkpoint records (${CHECKPOINT_FILES}): refused, nothing kept`,
    route: "exec",
    body: () => ({ command: `mkdir many && cd many && seq 1 ${CHECKPOINT_FILES + 500} | xargs touch && echo made`, timeout: 120 }),
    async check(out, ctx) {
      ctx.expect(out.exec.stdout).toBe("made\n");
      const r = await call(ctx, "POST", "/checkpoints");
      ctx.expect(r.text).toMatch(/CHECKPOINT_LIMIT_EXCEEDED/);
      ctx.expect(r.text).toMatch(/"limit":"files"/);
      const list = await call(ctx, "GET", "/checkpoints");
      ctx.expect(list.json()).toMatchObject({ checkpoints: [], stored_bytes: 0 });
    },
  },
  {
    id: "C5",
    title: "swap a directory for a link to a host directory in a loop while checkpoints are taken",
    route: "exec",
    async prepare(ctx) {
      mkdirSync(decoyDir(ctx), { mode: 0o755 });
      writeFileSync(path.join(decoyDir(ctx), "host.txt"), "HOST DECOY");
    },
    body: (ctx) => ({
      command: `mkdir -p /d && echo inside > /d/in.txt
i=0
while [ $i -lt 3000 ] && [ ! -e /c5-stop ]; do
  mv /d /d.real && ln -s "$OUTSIDE" /d && rm /d && mv /d.real /d
  i=$((i+1))
done
echo swaps=$i`,
      env: { OUTSIDE: decoyDir(ctx) },
      timeout: 60,
    }),
    async during(ctx, settled) {
      const statuses: number[] = [];
      for (let i = 0; i < 8 && !settled(); i++) statuses.push((await call(ctx, "POST", "/checkpoints", { label: `c5-${i}` })).status);
      await ctx.target.rt.call("PUT", `${base(ctx)}/files/c5-stop`, { raw: "" });
      c5.set(ctx.marker, statuses);
    },
    check(out, ctx) {
      ctx.expect(out.exec.stdout).toMatch(/^swaps=\d+\n$/);
      for (const s of c5.get(ctx.marker) ?? []) ctx.expect([200, 409]).toContain(s);
      expectNoHostContent(ctx);
    },
  },
];

const c5 = new Map<string, number[]>();

/** The skipped list as a set (its order is the walk's). */
function expect_(ctx: CaseContext, items: { path: string; type: string }[]) {
  return ctx.expect.arrayContaining(items);
}
