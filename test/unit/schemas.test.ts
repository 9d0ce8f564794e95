import { describe, expect, it } from "vitest";
import {
  ExecRequestSchema,
  RunPythonParamsSchema,
  RunPythonToolSchema,
  ThreadIdSchema,
  normalizeWorkspacePath,
  parseEvent,
  streamFormatFromAccept,
} from "../../shared/src/index.ts";

describe("run_python parameters (the tool spec)", () => {
  it("fills the tool spec's defaults", () => {
    const p = RunPythonParamsSchema.parse({ code: "print(1)" });
    expect(p).toEqual({
      code: "print(1)",
      packages: [],
      files: {},
      options: {},
      environment: {},
      working_dir: "/workspace",
      timeout: 30,
      capture_screenshot: false,
    });
  });

  it("bounds timeout to 1–300 whole seconds", () => {
    for (const timeout of [0, 301, 1.5, -1]) {
      expect(RunPythonParamsSchema.safeParse({ code: "x", timeout }).success, String(timeout)).toBe(false);
    }
    expect(RunPythonParamsSchema.parse({ code: "x", timeout: 300 }).timeout).toBe(300);
  });

  it("accepts the tool spec's string flags and real booleans", () => {
    const p = RunPythonParamsSchema.parse({ code: "x", options: { use_venv: "true", install_jupyter: false } });
    expect(p.options).toEqual({ use_venv: true, install_jupyter: false });
  });

  it("rejects unknown fields, unsafe file names and odd python_cmd", () => {
    expect(RunPythonParamsSchema.safeParse({ code: "x", cod: "y" }).success).toBe(false);
    expect(RunPythonParamsSchema.safeParse({ code: "x", files: { "../evil.py": "" } }).success).toBe(false);
    expect(RunPythonParamsSchema.safeParse({ code: "x", options: { python_cmd: "python3; rm -rf /" } }).success).toBe(false);
  });

  it("requires a UUID sandbox_id on the tool body", () => {
    expect(RunPythonToolSchema.safeParse({ code: "x", sandbox_id: "nope" }).success).toBe(false);
    const ok = RunPythonToolSchema.parse({ code: "x", sandbox_id: "12345678-1234-1234-1234-123456789abc" });
    expect(ok.sandbox_id).toBe("12345678-1234-1234-1234-123456789abc");
  });
});

describe("exec request", () => {
  it("defaults timeout to 30 and validates env names", () => {
    expect(ExecRequestSchema.parse({ command: "true" }).timeout).toBe(30);
    expect(ExecRequestSchema.safeParse({ command: "true", env: { "BAD-NAME": "x" } }).success).toBe(false);
    expect(ExecRequestSchema.safeParse({ command: "" }).success).toBe(false);
  });
});

describe("ids and paths", () => {
  it("accepts UUIDs and safe slugs, nothing that could be a path", () => {
    for (const id of ["12345678-1234-1234-1234-123456789abc", "a", "A_b-9"]) expect(ThreadIdSchema.safeParse(id).success).toBe(true);
    for (const id of ["", "..", "a/b", "a b", "x".repeat(65), "é"]) expect(ThreadIdSchema.safeParse(id).success, id).toBe(false);
  });

  it("normalizes workspace paths and rejects traversal", () => {
    expect(normalizeWorkspacePath("/workspace/a/b")).toBe("a/b");
    expect(normalizeWorkspacePath("/a/b/")).toBe("a/b");
    expect(normalizeWorkspacePath("/workspace")).toBe("");
    expect(normalizeWorkspacePath("/workspacex/a")).toBe("workspacex/a");
    for (const bad of ["../x", "a/../../x", "a//b", "a/./b", "a\\b", "a\0b"]) expect(normalizeWorkspacePath(bad), bad).toBeNull();
  });
});

describe("event union", () => {
  it("parses each event type and rejects unknown ones", () => {
    expect(parseEvent({ type: "stderr", seq: 1, execution_id: "e", data: "x" }).type).toBe("stderr");
    expect(() => parseEvent({ type: "bogus", seq: 1, execution_id: "e" })).toThrow();
    expect(() => parseEvent({ type: "stdout", seq: -1, execution_id: "e", data: "x" })).toThrow();
  });

  it("chooses the stream format from Accept", () => {
    expect(streamFormatFromAccept("text/event-stream")).toBe("sse");
    expect(streamFormatFromAccept("application/x-ndjson")).toBe("ndjson");
    expect(streamFormatFromAccept("application/json")).toBe("json");
    expect(streamFormatFromAccept(undefined)).toBe("json");
  });
});
