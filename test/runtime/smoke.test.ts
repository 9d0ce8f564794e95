import { spawnSync } from "node:child_process";
import { readdir } from "node:fs/promises";
import path from "node:path";
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

  it("leaves only the user's files in the workspace (proot's mount points are removed)", async () => {
    await rt.json("POST", "/threads/acme/stubs/exec", { command: "ls / > /dev/null; echo x > /mine.txt" });
    const entries = (await readdir(path.join(rt.workspaces, "acme", "stubs"))).sort();
    expect(entries).toEqual([".bashrc", ".threadbox", "mine.txt", "package.json", "pyproject.toml"]);
  });

  it("answers every error with the request id", async () => {
    const res = await rt.call("GET", "/no-such-route", { headers: { "x-request-id": "req-42" } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: "NOT_FOUND", message: "no route for GET /no-such-route", request_id: "req-42" },
    });
  });
});

describe("runtime start-up", () => {
  it("exits 1 with a readable message when the configuration is invalid", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "runtime-container/src/main.ts"], {
      env: { PATH: process.env.PATH, PORT: "not-a-port" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("invalid runtime configuration");
    expect(r.stderr).toContain("PORT");
  });
});
