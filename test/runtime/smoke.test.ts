import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RuntimeProcess, startRuntime } from "./harness.ts";

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

describe("runtime smoke", () => {
  it("answers a signed health call and runs a command in a fresh workspace", async () => {
    const health = await rt.json("GET", "/health");
    expect(health).toMatchObject({ ok: true, isolation: "proot" });
    const r = await rt.json("POST", "/threads/acme/smoke/exec", { command: "echo hi" });
    expect(r).toMatchObject({ exit_code: 0, stdout: "hi\n", timed_out: false });
  });
});
