import { type ExecutionEvent, parseEvent, parseNdjsonStream, parseSseStream } from "../shared/src/index.ts";
import type { Stack } from "../test/e2e/stack.ts";
import type { RuntimeProcess } from "../test/runtime/harness.ts";

/**
 * One shape for the two ways in: the runtime's signed API and the worker's public API. Scenarios name a thread and
 * a route below it (`/exec`, `/contexts/ctx_1/run`), and the client builds the path each side expects.
 */
export type Accept = "json" | "sse" | "ndjson";

export interface ThreadApi {
  readonly name: string;
  createThread(thread: string): Promise<void>;
  request(method: "GET" | "POST" | "DELETE", thread: string, route: string, body?: unknown, accept?: Accept): Promise<Response>;
}

const ACCEPT = { json: "application/json", sse: "text/event-stream", ndjson: "application/x-ndjson" } as const;

export function runtimeApi(rt: RuntimeProcess, tenant: string, name = "runtime"): ThreadApi {
  return {
    name,
    async createThread(thread) {
      await expectStatus(rt.call("POST", `/threads/${tenant}/${thread}`), 200);
    },
    request: (method, thread, route, body, accept = "json") => rt.call(method, `/threads/${tenant}/${thread}${route}`, { body, accept }),
  };
}

export function workerApi(stack: Stack, name = "worker"): ThreadApi {
  return {
    name,
    async createThread(thread) {
      await expectStatus(stack.api("POST", "/v1/threads", { body: { id: thread } }), 201);
    },
    request: (method, thread, route, body, accept = "json") =>
      stack.api(method, `/v1/threads/${thread}${route}`, { body, accept: ACCEPT[accept] }),
  };
}

/** The body as JSON when the status is the expected one; otherwise an error naming both. */
export async function expectStatus<T = Record<string, unknown>>(res: Promise<Response>, status: number): Promise<T> {
  const r = await res;
  const text = await r.text();
  if (r.status !== status) throw new Error(`expected HTTP ${status}, got ${r.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** POST a route and check that what ran succeeded: a fast failure must never pass for a fast success. */
export async function post<T extends object>(api: ThreadApi, thread: string, route: string, body: unknown, status = 200): Promise<T> {
  const value = await expectStatus<T>(api.request("POST", thread, route, body), status);
  const failed =
    ("exit_code" in value && value.exit_code !== 0) ||
    ("is_error" in value && value.is_error === true) ||
    ("ok" in value && value.ok === false);
  if (failed) throw new Error(`${api.name} ${route} on ${thread} failed: ${JSON.stringify(value).slice(0, 800)}`);
  return value;
}

/** Events as they arrive, each with the time it was read (performance.now()); SSE or NDJSON by content type. */
export async function* liveEvents(res: Response): AsyncGenerator<{ event: ExecutionEvent; at: number }> {
  if (!res.ok || !res.body) throw new Error(`expected a stream, got HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`);
  if ((res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    for await (const msg of parseSseStream(res.body)) yield { event: parseEvent(JSON.parse(msg.data)), at: performance.now() };
  } else {
    for await (const value of parseNdjsonStream(res.body)) yield { event: parseEvent(value), at: performance.now() };
  }
}
