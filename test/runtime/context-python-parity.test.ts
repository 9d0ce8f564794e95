import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecutionEvent } from "../../shared/src/index.ts";
import { cellOf, contextClient, newThread } from "./context-client.ts";
import { type RuntimeProcess, processesMatching, readEvents, startRuntime } from "./harness.ts";

// What an agent written for a Jupyter-based code interpreter expects of a Python context: tracebacks of its own
// frames, rich outputs (PIL's show(), raw mime bundles, the _repr_*_ methods) and IPython-style `!` and `%` lines.

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

const { runCall, run, value, create } = contextClient(() => rt);
const displays = (events: ExecutionEvent[]) => events.flatMap((e) => (e.type === "display" ? [e] : []));
const KERNEL_FRAMES = /run_cell|ast\.py|File "<string>"|kernel|threadbox_magic/;

describe("tracebacks", () => {
  it("shows a syntax error without the kernel's frames, with its line and caret", async () => {
    const thread = newThread("tb-syntax");
    const ctx = await create(thread);
    const r = await run(thread, ctx.id, "x = 1\ny = (1 +\n");
    expect(r.error).toMatchObject({ type: "SyntaxError", line: 2 });
    expect(r.error?.traceback).not.toMatch(KERNEL_FRAMES);
    expect(r.error?.traceback).toMatch(/File "<cell-[^"]+>", line 2\n.*y = \(1 \+/);
    expect(r.error?.traceback).not.toContain("Traceback (most recent call last)");
  });

  it("shows the frames of earlier cells and libraries a cell called, never the kernel's", async () => {
    const thread = newThread("tb-frames");
    const ctx = await create(thread);
    await value(thread, ctx.id, "import json\ndef parse(s):\n    return json.loads(s)");
    const r = await run(thread, ctx.id, "a = 1\nparse('{bad')");
    expect(r.error).toMatchObject({ type: "JSONDecodeError", line: 2 });
    const tb = r.error?.traceback ?? "";
    expect(tb).toMatch(/^Traceback \(most recent call last\):\n {2}File "<cell-[^"]+>", line 2/);
    expect(tb).toContain("line 3, in parse");
    expect(tb).toContain("json/__init__.py");
    expect(tb).not.toMatch(KERNEL_FRAMES);
  });

  it("keeps chained exceptions and drops the kernel from each", async () => {
    const thread = newThread("tb-chain");
    const ctx = await create(thread);
    const r = await run(thread, ctx.id, "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    raise ValueError('wrapped') from e");
    const tb = r.error?.traceback ?? "";
    expect(tb).toContain("ZeroDivisionError: division by zero");
    expect(tb).toContain("The above exception was the direct cause");
    expect(tb).toContain("ValueError: wrapped");
    expect(tb).not.toMatch(KERNEL_FRAMES);
  });
});

describe("rich outputs", () => {
  it("sends PIL's Image.show() as a PNG display, and a PIL image value has image/png", async () => {
    const thread = newThread("pil");
    const ctx = await create(thread);
    const events = await readEvents(await runCall(thread, ctx.id, "from PIL import Image\nimg = Image.new('RGB', (7, 5), 'red')\nimg.show()\nImage.new('CMYK', (3, 2)).show()\nimg", { accept: "sse" }));
    const shown = displays(events);
    expect(shown.map((d) => d.mime)).toEqual(["image/png", "image/png"]);
    const png = Buffer.from(shown[0]?.data ?? "", "base64");
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([7, 5]);
    const cell = cellOf(events);
    expect(cell.ok).toBe(true);
    expect(Buffer.from(cell.result?.["image/png"] ?? "", "base64").subarray(1, 4).toString("latin1")).toBe("PNG");
  });

  it("keeps every mime type of display(bundle, raw=True)", async () => {
    const thread = newThread("raw");
    const ctx = await create(thread);
    const code = [
      "display({'text/plain': 'p', 'text/latex': '$x^2$', 'application/json': {'a': [1, 2]}, 'image/svg+xml': '<svg/>',",
      "         'text/markdown': '**b**', 'application/vnd.custom+json': {'k': True}}, raw=True)",
    ].join("\n");
    const shown = displays(await readEvents(await runCall(thread, ctx.id, code, { accept: "sse" })));
    expect(Object.fromEntries(shown.map((d) => [d.mime, d.data]))).toEqual({
      "text/plain": "p",
      "text/latex": "$x^2$",
      "application/json": '{"a": [1, 2]}',
      "image/svg+xml": "<svg/>",
      "text/markdown": "**b**",
      "application/vnd.custom+json": '{"k": true}',
    });
  });

  it("honours _repr_html_, _repr_png_, _repr_svg_, _repr_markdown_, _repr_json_, _repr_latex_ and _repr_mimebundle_", async () => {
    const thread = newThread("reprs");
    const ctx = await create(thread);
    await value(
      thread,
      ctx.id,
      [
        "class Rich:",
        "    def __repr__(self): return 'Rich()'",
        "    def _repr_html_(self): return '<b>rich</b>'",
        "    def _repr_png_(self): return b'\\x89PNG-bytes'",
        "    def _repr_svg_(self): return '<svg>r</svg>'",
        "    def _repr_markdown_(self): return '*rich*'",
        "    def _repr_json_(self): return {'rich': 1}",
        "    def _repr_latex_(self): return ('$r$', {'meta': 1})",
        "class Bundled:",
        "    def _repr_mimebundle_(self, include=None, exclude=None): return {'text/html': '<i>b</i>', 'application/x-thing': 'T'}",
        "class Broken:",
        "    def __repr__(self): return 'Broken()'",
        "    def _repr_html_(self): raise RuntimeError('no')",
      ].join("\n"),
    );
    const rich = await run(thread, ctx.id, "Rich()");
    expect(rich.result).toEqual({
      "text/plain": "Rich()",
      "text/html": "<b>rich</b>",
      "image/png": Buffer.from("\x89PNG-bytes", "latin1").toString("base64"),
      "image/svg+xml": "<svg>r</svg>",
      "text/markdown": "*rich*",
      "application/json": '{"rich": 1}',
      "text/latex": "$r$",
    });
    expect((await run(thread, ctx.id, "Bundled()")).result).toMatchObject({ "text/html": "<i>b</i>", "application/x-thing": "T" });
    expect((await run(thread, ctx.id, "Broken()")).result).toEqual({ "text/plain": "Broken()" });
    const shown = displays(await readEvents(await runCall(thread, ctx.id, "display(Rich())", { accept: "sse" })));
    expect(shown.map((d) => d.mime).sort()).toEqual(["application/json", "image/png", "image/svg+xml", "text/html", "text/latex", "text/markdown", "text/plain"]);
  });
});

describe("IPython-style lines", () => {
  it("runs !command in the sandbox with its output streamed as the cell's", async () => {
    const thread = newThread("bang");
    const ctx = await create(thread);
    const events = await readEvents(await runCall(thread, ctx.id, "print('before', flush=True)\n!echo out; echo err >&2; id -u\nfor i in range(2):\n    !echo loop-$PWD\nprint('after')", { accept: "sse" }));
    const cell = cellOf(events);
    expect(cell.ok, JSON.stringify(cell.error)).toBe(true);
    const lines = cell.stdout.split("\n");
    expect(lines.slice(0, 2)).toEqual(["before", "out"]);
    expect(Number(lines[2])).not.toBe(0);
    expect(lines.slice(3)).toEqual([expect.stringMatching(/^loop-\//), expect.stringMatching(/^loop-\//), "after", ""]);
    expect(cell.stderr).toBe("err\n");
    expect(events.some((e) => e.type === "stdout" && e.data.includes("out"))).toBe(true);
  });

  it("ends the whole command line of an interrupted !command, and the context keeps its state", async () => {
    const thread = newThread("bang-timeout");
    const ctx = await create(thread);
    await value(thread, ctx.id, "kept = 7");
    const marker = `tbxbang${randomUUID().replaceAll("-", "")}`;
    // The shell forks the sleeper (`;` follows): killing the shell alone would leave it running.
    const r = await run(thread, ctx.id, `!python3 -c 'import time; time.sleep(600)' ${marker}; echo never`, 2);
    expect(r).toMatchObject({ ok: false, timed_out: true, state: "preserved", error: { type: "KeyboardInterrupt" } });
    expect(r.stdout).not.toContain("never");
    // Bounded wait for the kill to land.
    let left = await processesMatching(marker);
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await processesMatching(marker);
    }
    expect(left).toEqual([]);
    expect(await value(thread, ctx.id, "kept")).toBe("7");
  });

  it("changes directory with %cd, says where with %pwd, and leaves `!`/`%` inside valid Python alone", async () => {
    const thread = newThread("cd");
    const ctx = await create(thread);
    await value(thread, ctx.id, "import os\nos.makedirs('deep/er', exist_ok=True)");
    const cd = await run(thread, ctx.id, "%cd deep/er\nimport os\nos.getcwd()");
    expect(cd.ok, JSON.stringify(cd.error)).toBe(true);
    expect(cd.stdout).toMatch(/\/deep\/er\n$/);
    expect(cd.result?.["text/plain"]).toMatch(/\/deep\/er'$/);
    expect(await value(thread, ctx.id, "%pwd")).toMatch(/\/deep\/er'$/);
    expect(await value(thread, ctx.id, "s = '''\n!not a command\n'''\nx = (10\n% 3)\n(s, x)")).toBe("('\\n!not a command\\n', 1)");
  });

  it("reports an unknown magic and a bad %cd as errors on their line, without the kernel's frames", async () => {
    const thread = newThread("magic-err");
    const ctx = await create(thread);
    const unknown = await run(thread, ctx.id, "x = 1\n%nosuchmagic arg");
    expect(unknown.error).toMatchObject({ type: "MagicError", line: 2 });
    expect(unknown.error?.value).toContain("%nosuchmagic");
    expect(unknown.error?.traceback).not.toMatch(/File "<string>"/);
    const cd = await run(thread, ctx.id, "%cd /no/such/dir");
    expect(cd.error).toMatchObject({ type: "MagicError", line: 1 });
  });
});
