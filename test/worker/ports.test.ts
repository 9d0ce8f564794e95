import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type PreviewClaims, mintCapability } from "../../worker/src/preview/capability.ts";
import { WORKER_TEST_BINDINGS } from "./bindings.ts";
import { api, createThread } from "./thread-api.ts";

// Preview URLs at the edge: the capability (thread, port, expiry, the grant's nonce, HMAC-signed) is the only
// credential; the thread's object keeps the active grants. The stand-in runtime echoes what reached its proxy path.

type Exposed = { port: number; url: string; expires_at: string };

async function expose(thread: string, body: unknown, tenant: "acme" | "beta" = "acme"): Promise<Response> {
  return api(`/v1/threads/${thread}/ports`, { method: "POST", body, tenant });
}

/** A request to a preview URL: no API credentials at all. */
const visit = (url: string, init: RequestInit = {}) => exports.default.fetch(url, init);

describe("preview URLs", () => {
  it("expose a port as a URL that reaches only that port of that thread, streaming any method's body", async () => {
    const thread = await createThread("prev");
    const res = await expose(thread, { port: 8000 });
    expect(res.status).toBe(201);
    const exposed = (await res.json()) as Exposed;
    expect(exposed.port).toBe(8000);
    expect(exposed.url).toMatch(/^http:\/\/threadbox\.test\/preview\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\/$/);
    expect(exposed.url).not.toContain(thread);
    expect(Date.parse(exposed.expires_at) - Date.now()).toBeGreaterThan(3500_000);

    const get = await visit(`${exposed.url}index.html?a=1`, { headers: { cookie: "app=1", authorization: "Bearer app-own" } });
    expect(get.status).toBe(200);
    expect(await get.json()).toMatchObject({ proxied: `GET /threads/acme/${thread}/ports/8000/proxy/index.html?a=1`, cookie: "app=1" });
    // On the API's own origin the sandbox's pages get an opaque origin (no PREVIEW_BASE_URL in the tests).
    expect(get.headers.get("content-security-policy")).toMatch(/^sandbox allow-scripts/);
    const post = await visit(`${exposed.url}api`, { method: "POST", body: "x".repeat(100_000) });
    expect(await post.json()).toMatchObject({ proxied: `POST /threads/acme/${thread}/ports/8000/proxy/api`, body: "x".repeat(100_000) });

    const list = (await (await api(`/v1/threads/${thread}/ports`)).json()) as { ports: Exposed[] };
    expect(list.ports.map((p) => p.port)).toEqual([8000]);
    const state = (await (await api(`/v1/threads/${thread}`)).json()) as { exposed_ports?: { port: number; expires_at: string }[] };
    expect(state.exposed_ports).toEqual([{ port: 8000, expires_at: exposed.expires_at }]);
  });

  it("stop working when revoked, and exposing again gives a working URL", async () => {
    const thread = await createThread("prev-revoke");
    const first = (await (await expose(thread, { port: 3000 })).json()) as Exposed;
    expect((await visit(first.url)).status).toBe(200);
    const del = await api(`/v1/threads/${thread}/ports/3000`, { method: "DELETE" });
    expect(await del.json()).toEqual({ port: 3000, revoked: true });
    const after = await visit(first.url);
    expect(after.status).toBe(404);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    const again = (await (await expose(thread, { port: 3000 })).json()) as Exposed;
    expect(again.url).not.toBe(first.url);
    expect((await visit(again.url)).status).toBe(200);
    expect((await visit(first.url)).status).toBe(404);
  });

  it("refuse forged, altered and expired capabilities with 403", async () => {
    const thread = await createThread("prev-forge");
    const { url } = (await (await expose(thread, { port: 8000 })).json()) as Exposed;
    const cap = /\/preview\/([^/]+)\//.exec(url)?.[1] as string;
    const [payload, mac] = cap.split(".") as [string, string];
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as PreviewClaims;
    const base = "http://threadbox.test/preview";
    // Another port or thread under the same signature; a capability signed with another secret; an expired one.
    const b64 = (v: unknown) => btoa(JSON.stringify(v)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const forged = [
      `${b64({ ...claims, port: 22 })}.${mac}`,
      `${b64({ ...claims, thread: "other" })}.${mac}`,
      await mintCapability("another-secret-0123456789abcdef0123456789", { ...claims, port: 8000 }),
      await mintCapability(WORKER_TEST_BINDINGS.TOKEN_SECRET, { ...claims, exp: Math.floor(Date.now() / 1000) - 1 }),
      `${payload}.${mac.slice(0, -2)}AA`,
      "garbage",
    ];
    for (const f of forged) {
      const res = await visit(`${base}/${f}/`);
      expect(res.status, f).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
    }
    // A genuine capability with a nonce the thread never granted (signed with the real secret): 404.
    const stray = await mintCapability(WORKER_TEST_BINDINGS.TOKEN_SECRET, { ...claims, nonce: "0".repeat(32) });
    expect((await visit(`${base}/${stray}/`)).status).toBe(404);
  });

  it("validate the port and the caller", async () => {
    const thread = await createThread("prev-bad");
    for (const port of [0, 65536, -1, 80.5, "8000"]) expect((await expose(thread, { port })).status, String(port)).toBe(400);
    expect((await api(`/v1/threads/${thread}/ports/0`, { method: "DELETE" })).status).toBe(400);
    // Another tenant's key does not see the thread.
    expect((await expose(thread, { port: 8000 }, "beta")).status).toBe(404);
  });

  it("terminal needs a WebSocket upgrade and the API's credentials", async () => {
    const thread = await createThread("term-plain");
    expect((await api(`/v1/threads/${thread}/terminal`)).status).toBe(400);
    const anonymous = await exports.default.fetch(`http://threadbox.test/v1/threads/${thread}/terminal`, {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "threadbox.terminal, bearer.not-a-key" },
    });
    expect(anonymous.status).toBe(401);
  });
});
