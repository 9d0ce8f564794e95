import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { generateText, stepCountIs } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { threadboxTools, toModelOutput } from "../../client/src/ai/index.ts";
import type { Threadbox } from "../../client/src/index.ts";
import { anthropicToolResult, openaiToolMessages, runTool } from "../../client/src/tools/index.ts";
import { type PackageIndex, startPackageIndex } from "../runtime/package-index.ts";
import { type ScriptedServer, json, startScriptedServer } from "../client/scripted-server.ts";
import { type ClientStack, REPO, startClientStack } from "./client-stack.ts";
import { uniqueId } from "./helpers.ts";

// What an agent developer does: the README's program under plain node from another project, the tools for OpenAI and
// Anthropic (runTool, the examples' loops against scripted model endpoints) and the Vercel AI SDK tools, all against
// the whole stack.

const run = promisify(execFile);
const PNG = "iVBORw0KGgo"; // base64 of a PNG's signature

let cs: ClientStack;
let tb: Threadbox;
let index: PackageIndex;
let consumer: string;
beforeAll(async () => {
  index = await startPackageIndex([{ name: "tbx-agent", version: "1.2.0" }]);
  cs = await startClientStack({ runtime: { PIP_INDEX_URL: index.url } });
  tb = cs.client();
  // Another project depending on this package, as `npm install /path/to/threadbox` leaves it: a link in node_modules.
  consumer = await mkdtemp(path.join(os.tmpdir(), "tbx-consumer-"));
  await mkdir(path.join(consumer, "node_modules"));
  await symlink(REPO, path.join(consumer, "node_modules", "threadbox"));
  await writeFile(path.join(consumer, "package.json"), JSON.stringify({ type: "module", dependencies: { threadbox: `file:${REPO}` } }));
});
afterAll(async () => {
  await cs?.stack.stop();
  await index?.stop();
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

/** The README section's `js` blocks, in order: one program. */
async function readmeProgram(): Promise<string> {
  const readme = await readFile(path.join(REPO, "README.md"), "utf8");
  const start = readme.indexOf("## Use it from your agent");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end);
  const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  return blocks.join("\n");
}

describe("the README's program", () => {
  it("runs as written with plain node from another project, against the stack", { timeout: 150_000 }, async () => {
    await writeFile(path.join(consumer, "agent.mjs"), await readmeProgram());
    const env = { ...process.env, THREADBOX_URL: cs.url, THREADBOX_API_KEY: cs.keys.sdk };
    const { stdout } = await run(process.execPath, ["agent.mjs"], { cwd: consumer, env, timeout: 120_000 });
    for (const line of [
      "0 hello\nPython 3",
      "\n6\n",
      "[ 'data/in.csv' ]",
      "live: 3\n",
      "exit code 0",
      "30\ndone: 0",
      "figure: image/png",
      "\n14\n",
      "true ZeroDivisionError",
      "FILE_NOT_FOUND 404",
      "from the browser",
      "1024 [ 'text', 'image' ]",
      "\n45\n",
    ]) {
      expect(stdout).toContain(line);
    }
  });

  it("threadbox/client, /tools and /ai load under tsx inside this repository too", async () => {
    const code = [
      'import { Threadbox } from "threadbox/client";',
      'import { openaiTools } from "threadbox/tools";',
      'import { threadboxTools } from "threadbox/ai";',
      `const tb = new Threadbox({ baseUrl: ${JSON.stringify(cs.url)}, apiKey: process.env.KEY });`,
      `const r = await tb.thread(${JSON.stringify(uniqueId("tsx"))}).exec("echo tsx");`,
      "console.log(r.stdout.trim(), openaiTools().length, Object.keys(threadboxTools({ client: tb, thread: 'x' })).length);",
    ].join("\n");
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: REPO,
      env: { ...process.env, KEY: cs.keys.sdk },
      timeout: 60_000,
    });
    expect(stdout.trim()).toBe("tsx 8 8");
  });
});

describe("runTool (OpenAI and Anthropic tools) on a thread", () => {
  it("each tool does its work; output, files and images come back for the model", async () => {
    const thread = tb.thread(uniqueId("tools"));
    expect(await runTool(thread, "run_python", { code: "print(6 * 7)" })).toEqual({ text: "42", images: [], isError: false });
    const failed = await runTool(thread, "run_python", { code: "x = 1\nraise ValueError('bad value')" });
    expect(failed.isError).toBe(true);
    expect(failed.text).toContain("ValueError: bad value");
    expect(await runTool(thread, "exec", JSON.stringify({ command: "echo out; echo err >&2; exit 2" }))).toEqual({
      text: "exit_code: 2\nstdout:\nout\nstderr:\nerr",
      images: [],
      isError: true,
    });
    expect((await runTool(thread, "run_code", { language: "typescript", code: "const n: number = 7; console.log(n * 6)" })).text).toBe("exit_code: 0\nstdout:\n42");
    expect((await runTool(thread, "write_file", { path: "notes/a.txt", content: "hello" })).text).toBe("wrote notes/a.txt (5 bytes)");
    expect((await runTool(thread, "read_file", { path: "notes/a.txt" })).text).toBe("hello");
    expect((await runTool(thread, "list_files", { path: "notes" })).text).toBe("file notes/a.txt (5 bytes)");

    await runTool(thread, "run_python", { code: "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.savefig('chart.png')" });
    const image = await runTool(thread, "read_file", { path: "chart.png" });
    expect(image.images[0]?.mediaType).toBe("image/png");
    expect(image.images[0]?.data.startsWith(PNG)).toBe(true);

    const installed = await runTool(thread, "install_packages", { packages: ["tbx-agent"] });
    expect(installed).toEqual({ text: "installed: tbx-agent==1.2.0", images: [], isError: false });
    expect((await runTool(thread, "run_python", { code: "import tbx_agent\nprint(tbx_agent.hello())" })).text).toBe("hello from tbx-agent 1.2.0");
  });

  it("run_cell keeps state between calls, also for a new handle (another process), and sends figures as images", async () => {
    const id = uniqueId("cells");
    await runTool(tb.thread(id), "run_cell", { code: "import matplotlib.pyplot as plt\ntotal = 40" });
    // A fresh handle stands for a new process (a serverless handler): it finds the thread's interpreter again.
    const out = await runTool(tb.thread(id), "run_cell", { code: "plt.plot([1, 3, 2])\nplt.show()\ntotal + 2" });
    expect(out.text).toBe("result: 42");
    expect(out.images).toHaveLength(1);
    expect(out.images[0]?.data.startsWith(PNG)).toBe(true);
    expect((await tb.thread(id).contexts.list()).length).toBe(1);
    const js = await runTool(tb.thread(id), "run_cell", { code: "let k = 5\nk * 2", language: "javascript" });
    expect(js.text).toBe("result: 10");

    const anthropic = anthropicToolResult("toolu_1", out);
    expect(anthropic.content.map((c) => c.type)).toEqual(["text", "image"]);
    const openai = openaiToolMessages([{ toolCallId: "call_1", output: out }]);
    expect(openai.map((m) => m.role)).toEqual(["tool", "user"]);
  });

  it("mistakes the model can fix come back as failed outputs; the application's errors are thrown", async () => {
    const thread = tb.thread(uniqueId("mistakes"));
    expect(await runTool(thread, "nope", {})).toMatchObject({ isError: true, text: expect.stringContaining("unknown tool") });
    expect(await runTool(thread, "exec", "{not json")).toMatchObject({ isError: true, text: expect.stringContaining("not valid JSON") });
    expect(await runTool(thread, "exec", { cmd: "ls" })).toMatchObject({ isError: true, text: expect.stringMatching(/command.*expected string/i) });
    expect(await runTool(thread, "read_file", { path: "missing.txt" })).toMatchObject({ isError: true, text: expect.stringContaining("FILE_NOT_FOUND") });
    expect(await runTool(thread, "read_file", { path: "../x" })).toMatchObject({ isError: true, text: expect.stringContaining("INVALID_PATH") });
    const stranger = cs.client({ apiKey: "tbx_not-a-key" });
    await expect(runTool(stranger.thread("x"), "exec", { command: "true" })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });
});

describe("the Vercel AI SDK tools", () => {
  it("generateText runs the tools on the thread and the model receives the figure as an image", async () => {
    const thread = uniqueId("ai-sdk");
    const prompts: unknown[] = [];
    const model = new MockLanguageModelV3({
      doGenerate: async (options) => {
        prompts.push(options.prompt);
        const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
        if (prompts.length === 1) {
          expect(options.tools?.map((t) => t.name).sort()).toEqual(
            ["exec", "install_packages", "list_files", "read_file", "run_cell", "run_code", "run_python", "write_file"],
          );
          const input = JSON.stringify({ code: "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.show()\n3 * 3" });
          return {
            content: [{ type: "tool-call", toolCallId: "call_1", toolName: "run_cell", input }],
            finishReason: { unified: "tool-calls", raw: "tool_calls" },
            usage,
            warnings: [],
          };
        }
        return { content: [{ type: "text", text: "done" }], finishReason: { unified: "stop", raw: "stop" }, usage, warnings: [] };
      },
    });
    const result = await generateText({ model, tools: threadboxTools({ client: tb, thread }), stopWhen: stepCountIs(3), prompt: "plot" });
    expect(result.text).toBe("done");
    expect(prompts).toHaveLength(2);
    const toolMessage = JSON.stringify(prompts[1]);
    expect(toolMessage).toContain("result: 9");
    expect(toolMessage).toContain("image/png");
    expect(toolMessage).toContain(PNG);
  });

  it("execute and toModelOutput: text, then image-data parts (a screenshot, a matplotlib figure); a failed run is error text", async () => {
    const tools = threadboxTools({ client: tb, thread: uniqueId("ai-tools"), only: ["run_python", "exec", "run_cell", "read_file"] });
    expect(Object.keys(tools)).toEqual(["run_python", "exec", "run_cell", "read_file"]);
    const opts = { toolCallId: "t", messages: [] };
    const shot = await tools.run_python.execute?.(
      { code: "import tkinter as tk\nroot = tk.Tk()\ntk.Label(root, text='hi').pack()\nroot.after(800, root.destroy)\nroot.mainloop()", capture_screenshot: true },
      opts,
    );
    if (!shot || Symbol.asyncIterator in shot) throw new Error("no output");
    const parts = toModelOutput(shot);
    expect(parts.type).toBe("content");
    if (parts.type !== "content") throw new Error("not content");
    expect(parts.value[0]?.type).toBe("text");
    expect(parts.value.slice(1).map((p) => p.type)).toContain("image-data");
    const figure = await tools.run_cell.execute?.({ code: "import matplotlib.pyplot as plt\nplt.plot([2, 1, 3])\nplt.show()" }, opts);
    if (!figure || Symbol.asyncIterator in figure) throw new Error("no output");
    const figureParts = toModelOutput(figure);
    if (figureParts.type !== "content") throw new Error("the figure did not come back as content");
    const image = figureParts.value.find((p) => p.type === "image-data");
    expect(image).toMatchObject({ type: "image-data", mediaType: "image/png", data: expect.stringMatching(new RegExp(`^${PNG}`)) });
    const failed = await tools.exec.execute?.({ command: "exit 4" }, opts);
    if (!failed || Symbol.asyncIterator in failed) throw new Error("no output");
    expect(toModelOutput(failed)).toEqual({ type: "error-text", value: "exit_code: 4" });
    // A mistake the model can fix is an output for it, not an exception.
    const missing = await tools.read_file.execute?.({ path: "nope.txt" }, opts);
    if (!missing || Symbol.asyncIterator in missing) throw new Error("no output");
    expect(toModelOutput(missing)).toMatchObject({ type: "error-text", value: expect.stringContaining("FILE_NOT_FOUND") });
  });
});

describe("the examples' agent loops (scripted model endpoints, the real stack)", () => {
  let model: ScriptedServer;
  beforeAll(async () => {
    model = await startScriptedServer();
  });
  afterAll(async () => {
    await model?.stop();
  });

  const runExample = (file: string, env: Record<string, string>) =>
    run(process.execPath, ["--import", "tsx", file, "What is 6 * 7?"], {
      cwd: REPO,
      env: { ...process.env, THREADBOX_URL: cs.url, THREADBOX_API_KEY: cs.keys.sdk as string, ...env },
      timeout: 120_000,
    });

  it("examples/openai-agent.ts: a tool call, its output back as a tool message, the final answer", async () => {
    model.requests.length = 0;
    model.script(
      json(200, {
        choices: [
          { message: { role: "assistant", content: null, tool_calls: [{ id: "call_9", type: "function", function: { name: "run_python", arguments: '{"code":"print(6 * 7)"}' } }] } },
        ],
      }),
      json(200, { choices: [{ message: { role: "assistant", content: "It is 42." } }] }),
    );
    const { stdout } = await runExample("examples/openai-agent.ts", { OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: model.url });
    expect(stdout.trim()).toBe("It is 42.");
    const first = JSON.parse(model.requests[0]?.body ?? "{}") as { tools: { function: { name: string } }[] };
    expect(first.tools.map((t) => t.function.name)).toContain("run_python");
    const second = JSON.parse(model.requests[1]?.body ?? "{}") as { messages: { role: string; content: unknown; tool_call_id?: string }[] };
    expect(second.messages.at(-1)).toEqual({ role: "tool", tool_call_id: "call_9", content: "42" });
  });

  it("examples/anthropic-agent.ts: a tool_use, its tool_result, the final answer", async () => {
    model.requests.length = 0;
    model.script(
      json(200, { content: [{ type: "tool_use", id: "toolu_9", name: "exec", input: { command: "echo $((6 * 7))" } }], stop_reason: "tool_use" }),
      json(200, { content: [{ type: "text", text: "It is 42." }], stop_reason: "end_turn" }),
    );
    const { stdout } = await runExample("examples/anthropic-agent.ts", { ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: model.url });
    expect(stdout.trim()).toBe("It is 42.");
    expect(model.requests[0]?.headers["x-api-key"]).toBe("sk-ant-test");
    const second = JSON.parse(model.requests[1]?.body ?? "{}") as { messages: { role: string; content: unknown }[] };
    expect(second.messages.at(-1)).toEqual({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "toolu_9", is_error: false, content: [{ type: "text", text: "exit_code: 0\nstdout:\n42" }] }],
    });
  });
});
