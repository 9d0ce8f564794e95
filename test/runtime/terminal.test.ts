import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TERMINAL_PROTOCOL } from "../../shared/src/index.ts";
import { newThread } from "./context-client.ts";
import { type RuntimeProcess, startRuntime } from "./harness.ts";
import { readUntil, signedSocket } from "./preview-servers.ts";

// The terminal: bash on a PTY in the thread's sandbox (every layer of a run), over a WebSocket.

const input = (data: string) => JSON.stringify({ type: "input", data });

/** Host processes whose command line has `marker` (ps sees the sandbox's, whatever uid and pid namespace). */
function processesMatching(marker: string): string[] {
  const ps = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return ps.split("\n").filter((line) => line.includes(marker) && !line.includes("ps -eo"));
}

async function gone(marker: string): Promise<string[]> {
  let left: string[] = [];
  for (let i = 0; i < 100; i++) {
    left = processesMatching(marker);
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return left;
}

describe.each(["proot", "bwrap"] as const)("terminal under %s", (backend) => {
  let rt: RuntimeProcess;
  const thread = newThread("term");
  const path = `/threads/acme/${thread}/terminal`;
  beforeAll(async () => {
    rt = await startRuntime({ ISOLATION: backend });
  }, 60_000);
  afterAll(async () => rt?.stop());

  it("runs bash as the thread's uid in its workspace, resizes, and closing ends the shell's tree", async () => {
    const ws = await signedSocket(rt, path, [TERMINAL_PROTOCOL]);
    expect(ws.protocol).toBe(TERMINAL_PROTOCOL);
    ws.send(input("echo $((6*7))\n"));
    // The echo of the typed line has "6*7"; the answer is a line of its own (after bash's bracketed-paste codes).
    await readUntil(ws, /\n(\x1b\[\?2004l)?\r?42\r\n/);
    ws.send(JSON.stringify({ type: "resize", cols: 101, rows: 33 }));
    // Binary frames are input too.
    ws.send(Buffer.from("stty size; id -u; pwd\n"), { binary: true });
    const out = await readUntil(ws, /33 101\r\n\d+\r\n\/\S*\r\n/);
    const [, uid, cwd] = /33 101\r\n(\d+)\r\n(\/\S*)\r\n/.exec(out) ?? [];
    const run = await rt.json<{ stdout: string }>("POST", `/threads/acme/${thread}/exec`, { command: "id -u; pwd", timeout: 30 });
    expect(`${uid}\n${cwd}\n`).toBe(run.stdout);
    expect(Number(uid)).toBeGreaterThan(0);
    const marker = `98${Date.now() % 100000}`;
    ws.send(input(`sleep ${marker} &\necho st''arted\n`));
    await readUntil(ws, /started\r\n/);
    expect(processesMatching(`sleep ${marker}`)).not.toEqual([]);
    ws.close();
    expect(await gone(`sleep ${marker}`)).toEqual([]);
  });

  it("closes the socket when the shell exits", async () => {
    const ws = await signedSocket(rt, path, [TERMINAL_PROTOCOL]);
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send(input("exit 3\n"));
    expect(await closed).toBe(1000);
  });

  it("reports a terminal the worker named in the thread's info, open and then ended with when", async () => {
    const named = newThread("term-named");
    const info = async () => (await rt.json<{ terminal_sessions?: { id: string; ended_at: string | null }[] }>("GET", `/threads/acme/${named}`)).terminal_sessions;
    const id = `term_${Date.now()}`;
    const ws = await signedSocket(rt, `/threads/acme/${named}/terminal`, [TERMINAL_PROTOCOL], { "x-threadbox-terminal-id": id });
    // A malformed name is not reported (the terminal opens all the same).
    const other = await signedSocket(rt, `/threads/acme/${named}/terminal`, [TERMINAL_PROTOCOL], { "x-threadbox-terminal-id": "../x" });
    expect(await info()).toEqual([{ id, ended_at: null }]);
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    ws.send(input("exit\n"));
    await closed;
    let seen: { id: string; ended_at: string | null }[] | undefined;
    for (let i = 0; i < 50; i++) {
      seen = await info();
      if (seen?.[0]?.ended_at) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toEqual([{ id, ended_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
    other.close();
  });

  it("shows in the thread's state, and ends with the thread's deletion", async () => {
    const doomed = newThread("term-del");
    const ws = await signedSocket(rt, `/threads/acme/${doomed}/terminal`, [TERMINAL_PROTOCOL]);
    const marker = `97${Date.now() % 100000}`;
    ws.send(input(`sleep ${marker} &\necho st''arted\n`));
    await readUntil(ws, /started\r\n/);
    expect((await rt.json<{ terminals?: number }>("GET", `/threads/acme/${doomed}`)).terminals).toBe(1);
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    await rt.json("DELETE", `/threads/acme/${doomed}`);
    // Ended before the deletion answered: nothing of the terminal is left.
    expect(processesMatching(`sleep ${marker}`)).toEqual([]);
    await closed;
  });

  it("refuses an unsigned upgrade", async () => {
    const { default: WebSocket } = await import("ws");
    const ws = new WebSocket(rt.url.replace(/^http/, "ws") + path, [TERMINAL_PROTOCOL]);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once("unexpected-response", (_q, res) => resolve(res.statusCode));
      ws.once("open", () => resolve(101));
      ws.once("error", () => resolve(undefined));
    });
    expect(status).toBe(401);
  });
});
