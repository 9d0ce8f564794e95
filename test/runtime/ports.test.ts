import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STREAMED_BODY_SHA256, signRequest } from "../../shared/src/index.ts";
import { failure, newThread } from "./context-client.ts";
import { type RuntimeProcess, TEST_SECRET, startRuntime } from "./harness.ts";
import { nextMessage, signedSocket, startServers } from "./preview-servers.ts";

// Preview URLs' runtime side: a relay joins the thread's network namespace as its uid and connects to a port on the
// sandbox's own loopback; HTTP (any method, bodies streamed) and WebSocket go through it.

describe.each(["proot", "bwrap"] as const)("ports proxy under %s", (backend) => {
  let rt: RuntimeProcess;
  const thread = newThread("ports");
  const proxy = (port: number, rest = "/") => `/threads/acme/${thread}/ports/${port}/proxy${rest}`;
  beforeAll(async () => {
    rt = await startRuntime({ ISOLATION: backend });
    // network "none": the proxy reaches the sandbox from the runtime's side, not over any network.
    await rt.json("POST", `/threads/acme/${thread}`, { network: "none" });
    await rt.json("POST", `/threads/acme/${thread}/exec`, { command: "echo hi > hello-preview.txt", timeout: 30 });
    await startServers(rt, thread, { http: 8000, ws: 8001 });
  }, 120_000);
  afterAll(async () => rt?.stop());

  it("shows python3 -m http.server's directory listing", async () => {
    const res = await rt.call("GET", proxy(8000));
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text).toContain("hello-preview.txt");
    const file = await rt.call("GET", proxy(8000, "/hello-preview.txt?x=1"));
    expect(await file.text()).toBe("hi\n");
  });

  it("streams a request body through (signed as streamed) and passes the method and status", async () => {
    const path = proxy(8001, "/echo");
    const body = "x".repeat(300_000);
    const headers = await signRequest(TEST_SECRET, { method: "PUT", path, contentSha256: STREAMED_BODY_SHA256 });
    const res = await fetch(rt.url + path, { method: "PUT", headers, body });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-method")).toBe("PUT");
    expect((await res.text()).length).toBe(body.length);
  });

  it("refuses a streamed body digest on any other route", async () => {
    const path = `/threads/acme/${thread}/exec`;
    const headers = await signRequest(TEST_SECRET, { method: "POST", path, contentSha256: STREAMED_BODY_SHA256 });
    const res = await fetch(rt.url + path, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: '{"command":"id"}' });
    expect(res.status).toBe(401);
  });

  it("relays a WebSocket to the Node echo server", async () => {
    const ws = await signedSocket(rt, proxy(8001, "/socket"));
    ws.send("ping");
    expect(await nextMessage(ws)).toBe("echo:ping");
    ws.send(Buffer.from("bin"));
    expect(await nextMessage(ws)).toBe("echo:bin");
    ws.close();
  });

  it("answers 502 PORT_NOT_LISTENING when nothing listens, over HTTP and WebSocket", async () => {
    expect(await failure(await rt.call("GET", proxy(8009)), 502)).toBe("PORT_NOT_LISTENING");
    await expect(signedSocket(rt, proxy(8009))).rejects.toThrow(/HTTP 502 .*PORT_NOT_LISTENING/);
  });

  it("refuses port 0, 65536 and non-numbers, and unsigned requests", async () => {
    for (const port of ["0", "65536", "0x1f40", "8000.0"]) {
      const res = await rt.call("GET", `/threads/acme/${thread}/ports/${port}/proxy/`);
      expect(res.status, port).toBe(400);
    }
    expect((await rt.call("GET", proxy(8000), { sign: false })).status).toBe(401);
    await expect(
      new Promise((resolve, reject) => {
        void import("ws").then(({ default: WebSocket }) => {
          const ws = new WebSocket(rt.url.replace(/^http/, "ws") + proxy(8001));
          ws.once("open", () => resolve("opened"));
          ws.once("unexpected-response", (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
          ws.once("error", reject);
        });
      }),
    ).rejects.toThrow("HTTP 401");
  });
});
