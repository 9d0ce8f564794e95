import { readFileSync } from "node:fs";
import { expect } from "vitest";
import WebSocket from "ws";
import { signRequest } from "../../shared/src/index.ts";
import { contextClient } from "./context-client.ts";
import { type RuntimeProcess, TEST_SECRET } from "./harness.ts";

const ECHO_SERVER = readFileSync(new URL("./ws-echo-server.cjs", import.meta.url));

/** In the thread's sandbox: python3 -m http.server on `http` and the Node echo server on `ws`, both on 127.0.0.1. */
export async function startServers(rt: RuntimeProcess, thread: string, ports: { http: number; ws: number }): Promise<void> {
  const put = await rt.call("PUT", `/threads/acme/${thread}/files/ws-echo-server.cjs`, { raw: ECHO_SERVER });
  expect(put.status, await put.text()).toBe(201);
  const contexts = contextClient(() => rt);
  const ctx = await contexts.create(thread);
  const code = `
import socket, subprocess, time
servers = [subprocess.Popen(["python3", "-m", "http.server", "${ports.http}", "--bind", "127.0.0.1"], stderr=subprocess.DEVNULL),
           subprocess.Popen(["node", "ws-echo-server.cjs", "${ports.ws}"])]
def up(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False
[up(${ports.http}), up(${ports.ws})]`;
  expect(await contexts.value(thread, ctx.id, code)).toBe("[True, True]");
}

/** A signed WebSocket to the runtime (as the worker opens one); resolves when open, rejects with the HTTP status. */
export async function signedSocket(rt: RuntimeProcess, path: string, protocols: string[] = [], extra: Record<string, string> = {}): Promise<WebSocket> {
  const headers = { ...(await signRequest(TEST_SECRET, { method: "GET", path, body: "" })), ...extra };
  const ws = new WebSocket(rt.url.replace(/^http/, "ws") + path, protocols, { headers });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => reject(new Error(`HTTP ${res.statusCode} ${body}`)));
    });
    ws.once("error", reject);
  });
}

/** The next message, as text (bounded: a test never waits forever). */
export function nextMessage(ws: WebSocket, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message in time")), timeoutMs);
    ws.once("message", (data) => {
      clearTimeout(timer);
      resolve(String(data));
    });
  });
}

/** Collects a socket's output until `pattern` matches it (bounded in time); returns all of it. */
export function readUntil(ws: WebSocket, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (data: WebSocket.RawData) => {
      out += String(data);
      if (!pattern.test(out)) return;
      clearTimeout(timer);
      ws.off("message", onData);
      resolve(out);
    };
    const timer = setTimeout(() => {
      ws.off("message", onData);
      reject(new Error(`no ${pattern} in time; got ${JSON.stringify(out.slice(-500))}`));
    }, timeoutMs);
    ws.on("message", onData);
  });
}
