import type { IncomingMessage, ServerResponse } from "node:http";
import {
  EXECUTION_ID_HEADER,
  ExecRequestSchema,
  SIGNATURE_WINDOW_SECONDS,
  type WorkspaceInfo,
  runtimePaths,
  sha256Hex,
  verifyRequest,
  STREAMED_BODY_SHA256,
} from "../shared/src/index.ts";
import { ReplayCache } from "../runtime-container/src/server/replay-cache.ts";
import { runExecScript } from "./fake-exec.ts";
import { FakeMounts } from "./fake-mounts.ts";
import { fakeProcesses } from "./fake-processes.ts";

/**
 * A scripted stand-in for the runtime, for the worker tests (test/worker): miniflare runs it in Node as the worker's
 * `outboundService`, so every fetch the worker and its Durable Objects make lands here. It checks the HMAC signature
 * as the real runtime does (over the request target exactly as it arrived, then the body against the signed digest),
 * refusing a nonce it has seen except on its health probe, and runs an `exec` command as a script of steps
 * (test/fake-exec.ts). Files: PUT, GET and DELETE of `…/files/<path>` and the listing `…/files?…` answer with the
 * path and query as received (decoded), so a test sees exactly what arrived.
 *
 * Test-only control routes under CONTROL (unsigned; the worker never calls them): `GET /_fake/calls` lists the
 * signed calls received, `GET /_fake/setups` the workspace set-ups received (`{ path, body, sealed? }`),
 * `PUT|DELETE /_fake/outage/<tenant>/<thread>` starts or ends an outage in which every call for that thread has its
 * connection dropped, as a runtime that is down would, and `PUT|DELETE /_fake/refuse/<tenant>/<thread>` one in
 * which every call for that thread is refused with 401 as if its signature did not match. Tenants' mounts
 * (`/mounts/...`) are kept in memory (test/fake-mounts.ts). `POST /_fake/restart/<tenant>/<thread>`
 * forgets the thread's background processes (test/fake-processes.ts), as a runtime restart does.
 * `PUT /_fake/terminals/<tenant>/<thread>?sessions=<JSON [{id, ended_at}]>` sets the terminals the thread's info
 * reports (`terminal_sessions`, and `terminals` the open ones; default none: the stand-in has no terminal socket).
 */
const CONTROL = "/_fake";
const THREAD_PATH = /^\/threads\/([\w-]+)\/([\w-]+)(?:\/(\w+))?$/;
const FILES_PATH = /^\/threads\/([\w-]+)\/([\w-]+)\/files(?:\/(.*))?$/;
const CANCEL_PATH = /^\/executions\/([\w-]+)\/cancel$/;

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function fakeRuntime(opts: { url: string; secret: string }): { node: Handler } {
  const host = new URL(opts.url).host;
  const calls: string[] = [];
  const setups: { path: string; body: string; sealed?: string }[] = [];
  const forks: { path: string; body: string }[] = [];
  /** Terminals per `tenant/thread`, as the thread's info reports them. */
  const terminals = new Map<string, { id: string; ended_at: string | null }[]>();
  const outages = new Set<string>();
  const refusals = new Set<string>();
  const sleeping = new Map<string, () => void>();
  const mounts = new FakeMounts();
  const processes = fakeProcesses();
  const nonces = new ReplayCache({ maxEntries: 100_000, windowSeconds: SIGNATURE_WINDOW_SECONDS, startedAt: 0 });

  function sleepUnlessCancelled(id: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => (sleeping.delete(id), resolve(false)), ms);
      sleeping.set(id, () => (clearTimeout(timer), sleeping.delete(id), resolve(true)));
    });
  }

  async function exec(req: IncomingMessage, res: ServerResponse, thread: string, body: string): Promise<void> {
    const id = req.headers[EXECUTION_ID_HEADER];
    const parsed = ExecRequestSchema.safeParse(JSON.parse(body));
    if (typeof id !== "string" || !parsed.success || !req.headers.accept?.includes("application/x-ndjson")) {
      return json(res, 400, { error: { code: "VALIDATION_FAILED", message: "the stand-in wants a valid NDJSON exec" } });
    }
    await runExecScript(res, id, thread, parsed.data, sleepUnlessCancelled);
  }

  /** Files: what arrived, decoded, so tests can compare it with what the client asked for. */
  function files(req: IncomingMessage, res: ServerResponse, target: string, body: Buffer): void {
    const url = new URL(target, "http://runtime.invalid");
    const [, , , rest] = FILES_PATH.exec(url.pathname) ?? [];
    const path = rest === undefined ? null : rest.split("/").map(decodeURIComponent).join("/");
    const query = Object.fromEntries(url.searchParams);
    if (req.method === "PUT" && path !== null) return json(res, 201, { path, size: body.length });
    if (req.method === "GET" && path === null) return json(res, 200, { entries: [], query });
    if (req.method === "GET") return json(res, 200, { path, query });
    if (req.method === "DELETE" && path !== null) return json(res, 200, { deleted: path, query });
    json(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: `the stand-in has no ${req.method} for files` } });
  }

  async function runtime(req: IncomingMessage, res: ServerResponse, path: string, bytes: Buffer): Promise<void> {
    const body = bytes.toString("utf8");
    if (req.method === "GET" && path === runtimePaths.health()) {
      return json(res, 200, { ok: true, version: "fake", isolation: "none", python: null, uptime_s: 0, running_executions: sleeping.size });
    }
    const cancel = CANCEL_PATH.exec(path);
    if (req.method === "POST" && cancel?.[1]) {
      const stop = sleeping.get(cancel[1]);
      stop?.();
      return json(res, 200, { execution_id: cancel[1], cancelled: stop !== undefined });
    }
    if (FILES_PATH.test(path.split("?")[0] ?? "")) return files(req, res, path, bytes);
    if (FakeMounts.matches(path)) {
      const answer = mounts.handle(req.method ?? "", path, bytes);
      return json(res, answer.status, answer.body);
    }
    if (processes.handle(req, res, path, body)) return;
    const [, tenant, thread, action] = THREAD_PATH.exec(path) ?? [];
    if (thread && req.method === "POST" && action === "exec") return exec(req, res, thread, body);
    if (thread && req.method === "POST" && action === "release") return json(res, 200, { released: true });
    if (thread && req.method === "POST" && action === "fork") return fork(res, path, body);
    if (thread && req.method === "GET" && action === "checkpoints") return json(res, 200, { checkpoints: [], stored_bytes: 0, limits: { count: 20, bytes: 1 } });
    if (thread && req.method === "DELETE" && action === undefined) return json(res, 200, { deleted: true });
    // The sealed egress secrets a set-up carried (shared/src/egress-seal.ts), as they arrived.
    const sealed = req.headers["x-threadbox-egress-secrets"];
    if (thread && req.method === "POST" && action === undefined) setups.push({ path, body, ...(typeof sealed === "string" ? { sealed } : {}) });
    if (thread && req.method !== "DELETE" && action === undefined) return json(res, 200, terminalInfo(`${tenant}/${thread}`));
    return json(res, 404, { error: { code: "NOT_FOUND", message: `the stand-in has no route for ${req.method} ${path}` } });
  }

  function terminalInfo(key: string): WorkspaceInfo {
    const sessions = terminals.get(key) ?? [];
    return { ...WORKSPACE, terminals: sessions.filter((t) => t.ended_at === null).length, terminal_sessions: sessions };
  }

  /** A fork: recorded (`GET /_fake/forks`); the all-zero checkpoint id is one the source does not have. */
  function fork(res: ServerResponse, path: string, body: string): void {
    const { checkpoint } = JSON.parse(body) as { checkpoint: string };
    if (checkpoint === `ck_${"0".repeat(24)}`) return json(res, 404, { error: { code: "CHECKPOINT_NOT_FOUND", message: `no checkpoint ${checkpoint}` } });
    forks.push({ path, body });
    json(res, 200, { files: 0 });
  }

  function control(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method === "GET" && path === `${CONTROL}/calls`) return json(res, 200, calls);
    if (req.method === "GET" && path === `${CONTROL}/forks`) return json(res, 200, forks);
    if (req.method === "GET" && path === `${CONTROL}/setups`) return json(res, 200, setups);
    const term = /^\/_fake\/terminals\/([\w-]+\/[\w-]+)\?sessions=(.*)$/.exec(path);
    if (term && req.method === "PUT") return (terminals.set(term[1] as string, JSON.parse(decodeURIComponent(term[2] as string))), json(res, 204, null));
    if (req.method === "POST" && path.startsWith(`${CONTROL}/restart/`)) return (processes.restart(path.slice(`${CONTROL}/restart/`.length)), json(res, 204, null));
    const outage = path.startsWith(`${CONTROL}/outage/`) ? path.slice(`${CONTROL}/outage/`.length) : null;
    if (outage && req.method === "PUT") return (outages.add(outage), json(res, 204, null));
    if (outage && req.method === "DELETE") return (outages.delete(outage), json(res, 204, null));
    const refusal = path.startsWith(`${CONTROL}/refuse/`) ? path.slice(`${CONTROL}/refuse/`.length) : null;
    if (refusal && req.method === "PUT") return (refusals.add(refusal), json(res, 204, null));
    if (refusal && req.method === "DELETE") return (refusals.delete(refusal), json(res, 204, null));
    json(res, 404, { error: { code: "NOT_FOUND", message: `no control route ${req.method} ${path}` } });
  }

  return {
    async node(req, res) {
      const path = req.url ?? "/";
      // Everything the worker fetches comes here: a request meant for another host is a bug, not the runtime's.
      if (req.headers.host !== host) {
        return json(res, 502, { error: { code: "RUNTIME_UNAVAILABLE", message: `the stand-in serves ${host}, not ${req.headers.host}` } });
      }
      if (path.startsWith(`${CONTROL}/`)) return control(req, res, path);
      const [, tenant, thread] = THREAD_PATH.exec(path) ?? FILES_PATH.exec(path.split("?")[0] ?? "") ?? [];
      // A runtime that is down: no answer at all. (miniflare's glue logs "Uncaught (in promise) … Network connection
      // lost" for each such call; the worker handles the error.)
      if (thread && outages.has(`${tenant}/${thread}`)) return void req.socket.destroy();

      const now = Math.floor(Date.now() / 1000);
      const verified = await verifyRequest(opts.secret, { method: req.method ?? "", path, header: (name) => header(req, name), now });
      // As a runtime whose RUNTIME_ID is its RUNTIME_URL entry: the worker must name it in every signed request.
      const named = !verified.ok || verified.runtime === opts.url.replace(/\/+$/, "");
      if (!named) return json(res, 401, { error: { code: "UNAUTHORIZED", message: `request signed for runtime "${verified.runtime}"` } });
      const probe = req.method === "GET" && path === runtimePaths.health();
      const refusal = !verified.ok ? verified.reason : probe ? "fresh" : nonces.claim(verified.nonce, verified.timestamp, now);
      if (refusal !== "fresh") return json(res, 401, { error: { code: "UNAUTHORIZED", message: `request signature ${refusal}` } });
      if (thread && refusals.has(`${tenant}/${thread}`)) {
        return json(res, 401, { error: { code: "UNAUTHORIZED", message: "request signature mismatch (the stand-in refuses this thread)" } });
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      // A preview URL's request (the runtime's proxy path): its body streams, signed as such; echoed back here.
      if (/^\/threads\/[^/]+\/[^/]+\/ports\/\d+\/proxy\//.test(path) && verified.ok && (verified.contentSha256 === STREAMED_BODY_SHA256 || verified.contentSha256 === (await sha256Hex(body)))) {
        calls.push(`${req.method} ${path}`);
        return json(res, 200, { proxied: `${req.method} ${path}`, body: body.toString(), cookie: header(req, "cookie") ?? null });
      }
      if (verified.ok && (await sha256Hex(body)) !== verified.contentSha256) {
        return json(res, 401, { error: { code: "UNAUTHORIZED", message: "request signature mismatch: the body is not the one signed" } });
      }
      calls.push(`${req.method} ${path}`);
      await runtime(req, res, path, body);
    },
  };
}

const WORKSPACE: WorkspaceInfo = {
  configured: true,
  python_version: "3.12.0",
  virtual_env: null,
  packages: [],
  interpreters: ["python3"],
  contexts: [],
  configured_at: "2026-01-01T00:00:00.000Z",
};

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (status === 204) return void res.writeHead(204).end();
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
