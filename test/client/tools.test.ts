import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Threadbox } from "../../client/src/index.ts";
import { fromCell, fromExec, fromFile } from "../../client/src/tools/format.ts";
import { MAX_SECTION_CHARS, TOOL_NAMES, anthropicTools, openaiToolMessages, openaiTools, runTool, toolDefinitions, toolSpecs } from "../../client/src/tools/index.ts";
import { type ScriptedServer, startScriptedServer } from "./scripted-server.ts";

// The agent tools' definitions (JSON Schema generated from the zod schemas, OpenAI and Anthropic shapes), argument
// checking in runTool, and how results are put for a model. Against the stack: test/e2e/client-agents.test.ts.

const ajv = new Ajv2020({ strict: true, allErrors: true });

const REQUIRED: Record<string, string[]> = {
  run_python: ["code"],
  exec: ["command"],
  run_code: ["language", "code"],
  run_cell: ["code"],
  write_file: ["path", "content"],
  read_file: ["path"],
  list_files: [],
  install_packages: ["packages"],
};

describe("tool definitions", () => {
  it("are the eight tools, each an object JSON Schema (draft 2020-12) that compiles, with the right required fields", () => {
    const defs = toolDefinitions();
    expect(defs.map((d) => d.name).sort()).toEqual(Object.keys(REQUIRED).sort());
    for (const def of defs) {
      expect(def.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/); // OpenAI's and Anthropic's rule for tool names
      expect(def.description.length).toBeGreaterThan(40);
      expect(ajv.validateSchema(def.parameters)).toBe(true);
      expect(() => ajv.compile(def.parameters)).not.toThrow();
      expect(def.parameters).toMatchObject({ type: "object", additionalProperties: false });
      expect(def.parameters.$schema).toBeUndefined();
      expect((def.parameters.required as string[] | undefined) ?? []).toEqual(REQUIRED[def.name]);
      const props = def.parameters.properties as Record<string, { description?: string }>;
      for (const [field, schema] of Object.entries(props)) expect({ field, described: !!schema.description }).toEqual({ field, described: true });
    }
  });

  it("accept and refuse the same inputs as the zod schemas they come from", () => {
    const samples: [string, unknown][] = [
      ["run_python", { code: "print(1)", packages: ["numpy"], timeout: 10 }],
      ["run_python", { code: "" }],
      ["run_python", { code: "x", timeout: 301 }],
      ["exec", { command: "ls", cwd: "/data" }],
      ["exec", { command: "ls", extra: 1 }],
      ["run_code", { language: "typescript", code: "1" }],
      ["run_code", { language: "ruby", code: "1" }],
      ["run_cell", { code: "x", language: "javascript" }],
      ["write_file", { path: "a.txt" }],
      ["list_files", {}],
      ["install_packages", { packages: [] }],
      ["install_packages", { packages: ["lodash"], language: "javascript" }],
    ];
    for (const [name, input] of samples) {
      const def = toolDefinitions({ only: [name as (typeof TOOL_NAMES)[number]] })[0];
      if (!def) throw new Error(name);
      const bySchema = ajv.compile(def.parameters)(input);
      const byZod = toolSpecs[def.name].input.safeParse(input).success;
      expect({ name, input, bySchema }).toEqual({ name, input, bySchema: byZod });
    }
  });

  it("come in OpenAI's Chat Completions and Responses shapes and Anthropic's, optionally a subset", () => {
    const chat = openaiTools();
    expect(chat[0]).toEqual({ type: "function", function: { name: "run_python", description: toolSpecs.run_python.description, parameters: expect.any(Object) } });
    const responses = openaiTools({ format: "responses", only: ["exec"] });
    expect(responses).toEqual([{ type: "function", name: "exec", description: toolSpecs.exec.description, parameters: expect.any(Object) }]);
    const anthropic = anthropicTools({ only: ["read_file", "write_file"] });
    expect(anthropic.map((t) => t.name)).toEqual(["read_file", "write_file"]);
    expect(anthropic[0]?.input_schema).toMatchObject({ type: "object", required: ["path"] });
    // Plain JSON: what is sent is what was made.
    expect(JSON.parse(JSON.stringify(chat))).toEqual(chat);
  });
});

describe("runTool refuses what the model got wrong, without calling the API", () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await startScriptedServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("unknown tools, unparsable JSON and invalid arguments are failed outputs naming the problem", async () => {
    const thread = new Threadbox({ baseUrl: server.url, apiKey: "k" }).thread("t");
    expect(await runTool(thread, "rm_rf", {})).toMatchObject({ isError: true, text: expect.stringContaining("run_python, exec") });
    expect(await runTool(thread, "exec", "{")).toMatchObject({ isError: true, text: "the arguments of exec are not valid JSON" });
    expect(await runTool(thread, "run_code", { language: "ruby", code: "1" })).toMatchObject({ isError: true, text: expect.stringContaining("language") });
    expect(await runTool(thread, "exec", { command: "ls", sudo: true })).toMatchObject({ isError: true, text: expect.stringContaining("sudo") });
    expect(server.requests).toHaveLength(0);
  });
});

describe("outputs for the model", () => {
  const exec = { execution_id: "e", exit_code: 0, signal: null, stdout: "", stderr: "", timed_out: false, canceled: false, truncated: false, duration_ms: 1 };

  it("long output keeps its start and end within the bound; figures and screenshots become images", () => {
    const long = `${"a".repeat(MAX_SECTION_CHARS)}${"b".repeat(MAX_SECTION_CHARS)}`;
    const out = fromExec({ ...exec, stdout: long, displays: [{ mime: "image/png", data: "iVBOR", source: "screenshot" }] });
    expect(out.text.length).toBeLessThan(MAX_SECTION_CHARS + 200);
    expect(out.text).toMatch(/^exit_code: 0\nstdout:\na+\n\[… 20000 characters omitted …\]\nb+$/);
    expect(out.images).toEqual([{ mediaType: "image/png", data: "iVBOR" }]);
    expect(fromExec({ ...exec, exit_code: 137, signal: "SIGKILL", timed_out: true })).toMatchObject({ isError: true, text: "exit_code: 137, signal: SIGKILL, timed out" });
  });

  it("a window capture_screenshot did not find is said in the text, not an image", () => {
    const note = 'capture_screenshot: no window titled "Settings" was on the screen (titles must match exactly)';
    const out = fromExec({ ...exec, displays: [{ mime: "text/plain", data: note, source: "screenshot" }] });
    expect(out).toMatchObject({ isError: false, images: [], text: `exit_code: 0\n${note}` });
  });

  it("a cell's value, error (with its line) and restart are said; its PNG value is an image", () => {
    const cell = { execution_id: "e", context_id: "c", stdout: "", stderr: "", timed_out: false, duration_ms: 1, execution_count: 1, state: "preserved" as const };
    expect(fromCell({ ...cell, ok: true, result: { "text/plain": "<Figure>", "image/png": "iVB" }, error: null })).toEqual({
      text: "result: <Figure>",
      images: [{ mediaType: "image/png", data: "iVB" }],
      isError: false,
    });
    const failed = fromCell({ ...cell, ok: false, result: null, error: { type: "NameError", value: "x", traceback: "tb", line: 2 }, state: "restarted" });
    expect(failed).toMatchObject({ isError: true, text: "NameError: x (line 2)\ntb\nthe interpreter was restarted: earlier variables are gone" });
  });

  it("files: images as images, UTF-8 as text, anything else by its size", () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(fromFile("plots/a.PNG", png).images).toEqual([{ mediaType: "image/png", data: "iVBORw0KGgo=" }]);
    expect(fromFile("a.txt", new TextEncoder().encode("héllo")).text).toBe("héllo");
    expect(fromFile("a.bin", new Uint8Array([0xff, 0xfe, 0x00])).text).toBe("a.bin is a binary file of 3 bytes");
    expect(fromFile("a.dat", new Uint8Array([0x61, 0x00])).text).toBe("a.dat is a binary file of 2 bytes");
  });

  it("OpenAI messages: every tool message first, then one user message with all the images", () => {
    const img = { mediaType: "image/png", data: "iVB" };
    const msgs = openaiToolMessages([
      { toolCallId: "a", output: { text: "one", images: [img], isError: false } },
      { toolCallId: "b", output: { text: "two", images: [], isError: true } },
    ]);
    expect(msgs.map((m) => m.role)).toEqual(["tool", "tool", "user"]);
    expect(msgs[1]).toEqual({ role: "tool", tool_call_id: "b", content: "Error: two" });
    expect(JSON.stringify(msgs[2])).toContain("data:image/png;base64,iVB");
  });
});
