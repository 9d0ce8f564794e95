import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Threadbox, type WebSocketLike } from "../../client/src/index.ts";
import type { ExecutionRecord, ThreadState } from "../../shared/src/index.ts";
import { type ErrorJson, createThread, expectJson, uniqueId, waitFor } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Preview URLs and the terminal through the whole stack: wrangler dev (workerd) → runtime → relay in the thread's
// network namespace, with a real python3 -m http.server and a Node WebSocket echo server in the sandbox.

const ECHO_SERVER = readFileSync(new URL("../runtime/ws-echo-server.cjs", import.meta.url), "utf8");
type Exposed = { port: number; url: string; expires_at: string };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => stack?.stop());

function open(url: string, protocols: string[] = []): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

function readUntil(ws: WebSocket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no ${pattern}; got ${JSON.stringify(out)}`)), 20_000);
    ws.on("message", (d) => {
      out += String(d);
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
  });
}

describe("preview URLs and the terminal end to end", () => {
  it("serve python3 -m http.server and a WebSocket echo from a network-none thread, then stop when revoked", async () => {
    const thread = uniqueId("preview");
    await expectJson(stack.api("POST", "/v1/threads", { body: { id: thread, network: "none" } }), 201);
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/ws-echo-server.cjs`, { raw: ECHO_SERVER }), 201);
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/hello-preview.txt`, { raw: "hi\n" }), 201);
    // The servers live in a run that streams (not awaited) for up to 90 s; the test cancels it at the end.
    const command = "python3 -m http.server 8000 --bind 127.0.0.1 2>/dev/null & node ws-echo-server.cjs 8001 & sleep 90";
    const run = stack.api("POST", `/v1/threads/${thread}/exec`, { body: { command, timeout: 120 }, accept: "text/event-stream" });
    const runRes = await run;
    const executionId = runRes.headers.get("x-execution-id");
    const http = await expectJson<Exposed>(stack.api("POST", `/v1/threads/${thread}/ports`, { body: { port: 8000 } }), 201);
    expect(http.url.startsWith(`${stack.worker.url}/preview/`)).toBe(true);
    let listing = "";
    expect(
      await waitFor(async () => {
        const res = await fetch(http.url);
        listing = await res.text();
        return res.status === 200;
      }, 20_000, 200),
    ).toBe(true);
    expect(listing).toContain("hello-preview.txt");
    expect(await (await fetch(`${http.url}hello-preview.txt`)).text()).toBe("hi\n");

    const echo = await expectJson<Exposed>(stack.api("POST", `/v1/threads/${thread}/ports`, { body: { port: 8001 } }), 201);
    const post = await fetch(`${echo.url}upload`, { method: "POST", body: "y".repeat(200_000) });
    expect(post.headers.get("x-method")).toBe("POST");
    expect((await post.text()).length).toBe(200_000);
    const ws = await open(`${echo.url.replace(/^http/, "ws")}socket`);
    ws.send("ping");
    expect(await readUntil(ws, /echo:ping/)).toBe("echo:ping");
    ws.close();

    const none = await expectJson<Exposed>(stack.api("POST", `/v1/threads/${thread}/ports`, { body: { port: 8009 } }), 201);
    const bad = await fetch(none.url);
    expect(bad.status).toBe(502);
    expect(((await bad.json()) as ErrorJson).error.code).toBe("PORT_NOT_LISTENING");

    await expectJson(stack.api("DELETE", `/v1/threads/${thread}/ports/8000`), 200);
    expect((await fetch(http.url)).status).toBe(404);
    // Tenant b's key cannot expose tenant a's thread.
    const other = await stack.api("POST", `/v1/threads/${thread}/ports`, { body: { port: 8000 }, auth: stack.tenants.b.key });
    expect(other.status).toBe(404);
    if (executionId) await stack.api("POST", `/v1/threads/${thread}/executions/${executionId}/cancel`);
    await runRes.body?.cancel();
  }, 120_000);

  it("opens a terminal with the key as a subprotocol; another tenant's same-named thread is another sandbox; a token for another thread is refused", async () => {
    const thread = await createThread(stack, uniqueId("term"));
    const url = `${stack.worker.url.replace(/^http/, "ws")}/v1/threads/${thread}/terminal`;
    const uidIn = async (credential: string) => {
      const ws = await open(url, ["threadbox.terminal", `bearer.${credential}`]);
      expect(ws.protocol).toBe("threadbox.terminal");
      ws.send(JSON.stringify({ type: "input", data: "echo $((6*7)); echo uid=$(id -u)\n" }));
      const out = await readUntil(ws, /uid=(\d+)\r\n/);
      expect(out).toMatch(/\n(\x1b\[\?2004l)?\r?42\r\n/);
      ws.close();
      return /uid=(\d+)\r\n/.exec(out)?.[1];
    };
    const a = await uidIn(stack.tenants.a.key);
    const b = await uidIn(stack.tenants.b.key);
    expect(a).toBeDefined();
    expect(b).not.toBe(a);
    const other = await createThread(stack, uniqueId("term-other"));
    const { token } = await expectJson<{ token: string }>(stack.api("POST", "/v1/tokens", { body: { thread: other } }), 201);
    await expect(open(url, ["threadbox.terminal", `bearer.${token}`])).rejects.toThrow(/HTTP 40[34]/);
    await expect(open(url, ["threadbox.terminal"])).rejects.toThrow("HTTP 401");
  }, 60_000);

  it("records each terminal's open and close in the execution history; the thread's state lists it while open", async () => {
    const thread = await createThread(stack, uniqueId("term-history"));
    const url = `${stack.worker.url.replace(/^http/, "ws")}/v1/threads/${thread}/terminal`;
    const record = (id: string) => expectJson<ExecutionRecord>(stack.api("GET", `/v1/threads/${thread}/executions/${id}`), 200);
    const openOne = async () => {
      const ws = new WebSocket(url, ["threadbox.terminal", `bearer.${stack.tenants.a.key}`]);
      let id = "";
      ws.once("upgrade", (res) => void (id = String(res.headers["x-threadbox-terminal-id"])));
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("unexpected-response", (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.once("error", reject);
      });
      return { ws, id };
    };
    // Closed by the client.
    const first = await openOne();
    expect(first.id).toMatch(/^term_/);
    first.ws.send(JSON.stringify({ type: "input", data: "echo $((6*7))\n" }));
    await readUntil(first.ws, /\n(\x1b\[\?2004l)?\r?42\r\n/);
    expect(await record(first.id)).toMatchObject({ kind: "terminal", status: "running", finished_at: null });
    const state = await expectJson<ThreadState>(stack.api("GET", `/v1/threads/${thread}`), 200);
    expect(state.open_terminals?.map((t) => t.id)).toEqual([first.id]);
    expect(state.workspace?.terminals).toBe(1);
    first.ws.close();
    expect(await waitFor(async () => (await record(first.id)).status === "closed", 20_000, 100)).toBe(true);
    // Ended by its shell: the runtime closes the socket and reports the end, which the next read records.
    const second = await openOne();
    const closed = new Promise((resolve) => second.ws.once("close", resolve));
    second.ws.send(JSON.stringify({ type: "input", data: "exit\n" }));
    await closed;
    expect(await waitFor(async () => (await record(second.id)).status === "closed", 20_000, 100)).toBe(true);
    const { executions } = await expectJson<{ executions: ExecutionRecord[] }>(stack.api("GET", `/v1/threads/${thread}/executions`), 200);
    expect(executions.map((r) => [r.kind, r.id, r.status])).toEqual([["terminal", second.id, "closed"], ["terminal", first.id, "closed"]]);
    expect(executions.every((r) => r.finished_at !== null && r.duration_ms !== null)).toBe(true);
    expect((await expectJson<ThreadState>(stack.api("GET", `/v1/threads/${thread}`), 200)).open_terminals).toBeUndefined();
  }, 60_000);

  it("works through the SDK: thread.ports.expose/list/revoke and thread.terminal()", async () => {
    const tb = new Threadbox({ baseUrl: stack.worker.url, apiKey: stack.tenants.a.key });
    const thread = tb.thread(uniqueId("sdk-ports"));
    const exposed = await thread.ports.expose(8123, { ttlSeconds: 120 });
    expect(exposed.url).toMatch(/\/preview\/[^/]+\/$/);
    expect(Date.parse(exposed.expires_at) - Date.now()).toBeLessThanOrEqual(120_000);
    expect((await thread.ports.list()).map((p) => p.port)).toEqual([8123]);
    expect(await thread.ports.revoke(8123)).toEqual({ port: 8123, revoked: true });
    expect(await thread.ports.list()).toEqual([]);
    const ws = (await thread.terminal({ WebSocket: WebSocket as unknown as WebSocketLike })) as unknown as WebSocket;
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    ws.send(JSON.stringify({ type: "input", data: "echo $((6*7))\n" }));
    await readUntil(ws, /\n(\x1b\[\?2004l)?\r?42\r\n/);
    ws.close();
  }, 60_000);
});
