import { lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { CaseContext, HostileCase } from "./hostile.ts";
import { TENANT } from "./target.ts";

/**
 * run_jupyter against what the sandbox plants (SECURITY.md's N rows): the root runtime reads the notebook at a path
 * the sandbox controls and writes its outputs back there. A link (to a host file, to a directory) or a FIFO at that
 * path is refused with a 4xx and never followed; a cell that swaps the notebook (or its directory) for a link while
 * it runs does not make the write-back land on the host.
 */
const decoyPath = (ctx: CaseContext) => path.join(ctx.target.rt.root, `nb-decoy-${ctx.marker}.ipynb`);
const outsidePath = (ctx: CaseContext) => path.join(ctx.target.rt.root, `nb-outside-${ctx.marker}`);

const cell = (source: string) => ({ cell_type: "code", metadata: {}, source, execution_count: null, outputs: [] });
const notebook = (sources: string[]) => ({ nbformat: 4, nbformat_minor: 4, metadata: {}, cells: sources.map(cell) });
const DECOY = JSON.stringify(notebook(["print('HOST DECOY')"]));

async function runNotebook(ctx: CaseContext, nb: string) {
  const res = await ctx.target.rt.call("POST", `/threads/${TENANT}/${ctx.thread}/run_jupyter`, { body: { notebook: nb, timeout: 60 } });
  const text = await res.text();
  return { status: res.status, text, code: res.status === 200 ? null : (JSON.parse(text) as { error: { code: string } }).error.code };
}

export const NOTEBOOK_CASES: HostileCase[] = [
  {
    id: "N1",
    title: "plant nb -> /etc/passwd, nb -> a host notebook, d -> /, a FIFO, a directory; run_jupyter on each",
    route: "exec",
    async prepare(ctx) {
      writeFileSync(decoyPath(ctx), DECOY);
    },
    body: (ctx) => ({
      command: 'ln -s /etc/passwd /p.ipynb && ln -s "$DECOY" /h.ipynb && ln -s / /d && mkfifo /f.ipynb && mkdir /dir.ipynb && echo planted',
      env: { DECOY: decoyPath(ctx) },
    }),
    async check(out, ctx) {
      ctx.expect(out.exec.stdout).toBe("planted\n");
      const expected: [string, number, string][] = [
        ["p.ipynb", 409, "NOT_A_FILE"],
        ["h.ipynb", 409, "NOT_A_FILE"],
        ["f.ipynb", 409, "NOT_A_FILE"],
        ["dir.ipynb", 409, "NOT_A_FILE"],
        [`d${decoyPath(ctx)}`, 400, "INVALID_PATH"],
      ];
      for (const [nb, status, code] of expected) {
        const r = await runNotebook(ctx, nb);
        ctx.expect({ status: r.status, code: r.code }, `${nb}: ${r.text.slice(0, 300)}`).toEqual({ status, code });
        ctx.expect(r.text, nb).not.toMatch(/root:x:0:0|HOST DECOY/);
      }
      ctx.expect(readFileSync(decoyPath(ctx), "utf8")).toBe(DECOY);
      ctx.expect(lstatSync(path.join(ctx.dir, "f.ipynb")).isFIFO()).toBe(true);
    },
  },
  {
    id: "N2",
    title: "a cell swaps its notebook for a link to a host file, another its directory for a link; the write-back",
    route: "exec",
    async prepare(ctx) {
      writeFileSync(decoyPath(ctx), DECOY);
      mkdirSync(outsidePath(ctx), { mode: 0o755 });
    },
    body: (ctx) => ({
      command: "mkdir -p /sub && printf '%s' \"$NB1\" > /swap.ipynb && printf '%s' \"$NB2\" > /sub/dir.ipynb && echo written",
      env: {
        NB1: JSON.stringify(notebook([`import os\nos.remove('swap.ipynb')\nos.symlink(${JSON.stringify(decoyPath(ctx))}, 'swap.ipynb')\nprint('swapped')`])),
        NB2: JSON.stringify(notebook([`import os\nos.chdir('/')\nos.rename('sub', 'sub.real')\nos.symlink(${JSON.stringify(outsidePath(ctx))}, 'sub')\nprint('swapped')`])),
      },
    }),
    async check(out, ctx) {
      ctx.expect(out.exec.stdout).toBe("written\n");
      const swapped = await runNotebook(ctx, "swap.ipynb");
      ctx.expect(swapped.status, swapped.text.slice(0, 500)).toBe(200);
      // The link the cell made is replaced by the written notebook: the host file is as it was.
      ctx.expect(readFileSync(decoyPath(ctx), "utf8")).toBe(DECOY);
      const file = path.join(ctx.dir, "swap.ipynb");
      ctx.expect(lstatSync(file).isFile()).toBe(true);
      ctx.expect(readFileSync(file, "utf8")).toContain("swapped");

      const moved = await runNotebook(ctx, "sub/dir.ipynb");
      ctx.expect(moved.status, moved.text.slice(0, 500)).toBe(200);
      const r = JSON.parse(moved.text) as { written: boolean; write_error?: string; cells: { ok: boolean }[] };
      // The run finished (its cell ran); the write through the link was refused and said so.
      ctx.expect(r.cells.map((c) => c.ok)).toEqual([true]);
      ctx.expect(r.written).toBe(false);
      ctx.expect(r.write_error ?? "").not.toBe("");
      ctx.expect(readdirSync(outsidePath(ctx))).toEqual([]);
    },
  },
];
