import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CellResultSchema, type ContextInfo, ContextInfoSchema, type ErrorCode, RunPythonResponseSchema, type ThreadState } from "../../shared/src/index.ts";
import { Threadbox } from "../../client/src/index.ts";
import { type ErrorJson, expectJson } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Import policies through the public API: a thread's own (POST /v1/threads) and its tenant's (the worker's
// IMPORT_POLICY), kept by the thread's object, applied by the runtime in run_python and in a context.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: { IMPORT_POLICY: JSON.stringify({ tenants: { "tenant-b": { deny: ["helper"] } } }) } });
});
afterAll(async () => {
  await stack?.stop();
});

const FILES = { "helper.py": "VALUE = 42\n", "other.py": "VALUE = 1\n" };

async function create(body: Record<string, unknown>, auth?: string): Promise<ThreadState> {
  return expectJson<ThreadState>(stack.api("POST", "/v1/threads", { body: { id: randomUUID(), ...body }, ...(auth ? { auth } : {}) }), 201);
}

async function runPython(thread: string, code: string, auth?: string) {
  const body = { code, files: FILES };
  return RunPythonResponseSchema.parse(await expectJson(stack.api("POST", `/v1/threads/${thread}/run_python`, { body, ...(auth ? { auth } : {}) }), 200));
}

describe("import policy through the worker", () => {
  it("applies a thread's policy in run_python and in a context, and shows it in the thread's state", async () => {
    const policy = { allow: ["helper"], deny: ["csv"] };
    const thread = await create({ import_policy: policy });
    expect(thread.import_policy).toEqual(policy);
    expect((await expectJson<ThreadState>(stack.api("GET", `/v1/threads/${thread.id}`), 200)).import_policy).toEqual(policy);

    const ok = await runPython(thread.id, "import json, helper\nprint(helper.VALUE)");
    expect(ok.metadata.stdout).toBe("42\n");
    const refused = await runPython(thread.id, "import helper\nimport other");
    expect(refused.metadata).toMatchObject({ error_type: "threadbox.ImportPolicyError", error_line: 2 });
    expect(refused.metadata.stderr).toContain("module 'other' is not allowed by this thread's import policy");

    const ctx: ContextInfo = ContextInfoSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread.id}/contexts`, { body: { language: "python" } }), 201),
    );
    const cell = CellResultSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread.id}/contexts/${ctx.id}/run`, { body: { code: "import helper\nimport csv" } }), 200),
    );
    expect(cell.ok).toBe(false);
    expect(cell.error).toMatchObject({ type: "ImportPolicyError", line: 2 });
    expect(cell.error?.value).toContain("module 'csv' is denied by this thread's import policy (deny: csv)");
  });

  it("applies the tenant's IMPORT_POLICY to its threads, and not to another tenant's", async () => {
    const b = stack.tenants.b.key;
    const thread = await create({}, b);
    expect(thread.import_policy).toEqual({ deny: ["helper"] });
    const refused = await runPython(thread.id, "import other\nimport helper", b);
    expect(refused.metadata).toMatchObject({ error_type: "threadbox.ImportPolicyError", error_line: 2 });

    const mine = await create({});
    expect(mine.import_policy).toBeUndefined();
    expect((await runPython(mine.id, "import helper\nprint(helper.VALUE)")).metadata.stdout).toBe("42\n");
  });

  it("is given by the SDK's createThread({ importPolicy })", async () => {
    const tb = new Threadbox({ baseUrl: stack.worker.url, apiKey: stack.tenants.a.key });
    const thread = await tb.createThread({ importPolicy: { deny: ["helper"] } });
    const state = await expectJson<ThreadState>(stack.api("GET", `/v1/threads/${thread.id}`), 200);
    expect(state.import_policy).toEqual({ deny: ["helper"] });
  });

  it("refuses a bad module name with 400 VALIDATION_FAILED naming the field", async () => {
    const res = await stack.api("POST", "/v1/threads", { body: { id: randomUUID(), import_policy: { deny: ["os; rm -rf"] } } });
    const body = await expectJson<ErrorJson>(res, 400);
    expect(body.error.code).toBe("VALIDATION_FAILED" satisfies ErrorCode);
    expect(body.error.message).toContain("import_policy.deny.0");
  });
});
