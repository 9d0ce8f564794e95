import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestTarget, runtimePaths, signRequest, targetUrl, verifyRequest, threadRef } from "../../shared/src/index.ts";

// The request target is signed by one side and sent by another: both must use requestTarget(), which spells it as
// fetch puts it on the wire. Checked here against what a real HTTP server receives from Node's fetch (the worker's
// workerd fetch is checked the same way in test/worker/signed-targets.test.ts, the real runtime end to end in
// test/e2e/odd-paths.test.ts).

const SECRET = "request-target-secret-0123456789";
/** Every printable ASCII character but `/`, plus a space, non-ASCII text and characters that look like escapes. */
const ODD = [..."!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~ "].concat(["é", "日本", "😀", "%", "%25", "%2F", "a%zz", "+", "\u007f"]);

let server: http.Server;
let origin: string;
let received: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received.push(req.url ?? "");
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** What the server received for a fetch of `path` sent the canonical way. */
async function wire(path: string): Promise<string> {
  received = [];
  const target = requestTarget(path);
  await (await fetch(targetUrl(origin, target))).text();
  expect(received).toHaveLength(1);
  return received[0] ?? "";
}

describe("requestTarget", () => {
  it("is exactly what fetch sends, for every odd character in a path segment and a query value", async () => {
    for (const ch of ODD) {
      const files = runtimePaths.files(threadRef("acme", "t1"), `dir ${ch}/x${ch}y`);
      const query = `${runtimePaths.files(threadRef("acme", "t1"), "x")}?recursive=${ch}&path=${encodeURIComponent(ch)}`;
      for (const path of [files, query]) {
        const sent = await wire(path);
        expect(sent, JSON.stringify(path)).toBe(requestTarget(path));
      }
    }
  });

  it("spells a query as WHATWG URL does, which is what broke signing `?recursive='`", () => {
    // encodeURIComponent leaves `'` alone; fetch percent-encodes it in a query: the signer must sign the latter.
    expect(requestTarget("/threads/a/t/files/x?recursive='")).toBe("/threads/a/t/files/x?recursive=%27");
    expect(requestTarget("/a b?c d")).toBe("/a%20b?c%20d");
    expect(requestTarget("/x#fragment")).toBe("/x");
    // Already canonical: unchanged (the runtime parses what arrives with the same parser).
    for (const ch of ODD) {
      const once = requestTarget(`/p/${encodeURIComponent(ch)}?q=${ch}`);
      expect(requestTarget(once)).toBe(once);
    }
  });

  it("refuses a path that would name another host or is not origin-relative", () => {
    for (const bad of ["//evil.test/x", "http://evil.test/x", "x", ""]) expect(() => requestTarget(bad), bad).toThrow(/one "\/"/);
    expect(() => targetUrl("http://rt.test/prefix", "/x")).toThrow(/not be sent as signed/);
  });

  it("signs what the server receives: the signature verifies over the target as it arrived", async () => {
    for (const ch of ODD) {
      const path = `${runtimePaths.files(threadRef("acme", "t1"), `a${ch}`)}?recursive=${ch}`;
      const headers = await signRequest(SECRET, { method: "DELETE", path: requestTarget(path) });
      const sent = await wire(path);
      const result = await verifyRequest(SECRET, { method: "DELETE", path: sent, header: (name) => headers[name] });
      expect(result.ok, JSON.stringify(path)).toBe(true);
    }
  });
});
