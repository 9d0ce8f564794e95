import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { type ExecutionEvent, type ExecutionRecord, parseEvent, parseSseStream } from "../../shared/src/index.ts";
import { TEST_KEYS, WORKER_TEST_VARS } from "./bindings.ts";
import type { ErrorReply } from "./test-app.ts";

/** Calls into the whole worker (`exports.default`) as a tenant's client would, and into the stand-in runtime. */
export type Tenant = keyof typeof TEST_KEYS;
type Init = { tenant?: Tenant; accept?: string; method?: string; body?: unknown };

export function api(path: string, init: Init = {}): Promise<Response> {
  const { tenant = "acme", accept, method = "GET", body } = init;
  const headers = new Headers({ authorization: `Bearer ${TEST_KEYS[tenant]}` });
  if (accept) headers.set("accept", accept);
  if (body !== undefined) headers.set("content-type", "application/json");
  const text = typeof body === "string" || body === undefined ? body : JSON.stringify(body);
  return exports.default.fetch(`http://threadbox.test${path}`, { method, headers, body: text });
}

/** A fresh thread id per test, so tests never share a Durable Object or the stand-in's per-thread state. */
export function threadId(label: string): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}

export async function createThread(label: string, tenant: Tenant = "acme"): Promise<string> {
  const id = threadId(label);
  const res = await api("/v1/threads", { method: "POST", body: { id }, tenant });
  expect(res.status).toBe(201);
  return id;
}

export function exec(thread: string, command: string, init: Omit<Init, "body" | "method"> = {}): Promise<Response> {
  return api(`/v1/threads/${thread}/exec`, { ...init, method: "POST", body: { command } });
}

export const SSE = "text/event-stream";

export type SseEvent = { id: string | undefined; name: string | undefined; event: ExecutionEvent };

/** Reads an SSE answer to its end (or the first `count` messages), each message's data parsed as an event. */
export async function sseEvents(res: Response | AsyncIterator<SseEvent>, count = Infinity): Promise<SseEvent[]> {
  const messages = res instanceof Response ? sseIterator(res) : res;
  const out: SseEvent[] = [];
  while (out.length < count) {
    const next = await messages.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

export async function* sseIterator(res: Response): AsyncGenerator<SseEvent> {
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  if (!res.body) throw new Error("an SSE answer without a body");
  for await (const m of parseSseStream(res.body)) yield { id: m.id, name: m.event, event: parseEvent(JSON.parse(m.data)) };
}

export async function record(thread: string, id: string): Promise<ExecutionRecord> {
  const res = await api(`/v1/threads/${thread}/executions/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as ExecutionRecord;
}

export async function expectError(res: Response, status: number, code: string): Promise<ErrorReply> {
  const body = (await res.json()) as ErrorReply;
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
  return body;
}

/** The stand-in's test-only control routes (test/fake-runtime.ts); the worker's own fetches share its host. */
const CONTROL = `${WORKER_TEST_VARS.RUNTIME_URL}/_fake`;

export const fakeRuntime = {
  /** The signed calls it received whose path contains `part`, as "METHOD path". */
  async calls(part: string): Promise<string[]> {
    const all = (await (await fetch(`${CONTROL}/calls`)).json()) as string[];
    return all.filter((c) => c.includes(part));
  },
  async outage(tenant: Tenant, thread: string, down: boolean): Promise<void> {
    const res = await fetch(`${CONTROL}/outage/${tenant}/${thread}`, { method: down ? "PUT" : "DELETE" });
    expect(res.status).toBe(204);
  },
  /** Forgets the thread's background processes, as a runtime restart does. */
  async restart(tenant: Tenant, thread: string): Promise<void> {
    expect((await fetch(`${CONTROL}/restart/${tenant}/${thread}`, { method: "POST" })).status).toBe(204);
  },
  /** The terminals the thread's info reports on the stand-in (open: `ended_at` null). */
  async terminals(tenant: Tenant, thread: string, sessions: { id: string; ended_at: string | null }[]): Promise<void> {
    const query = encodeURIComponent(JSON.stringify(sessions));
    expect((await fetch(`${CONTROL}/terminals/${tenant}/${thread}?sessions=${query}`, { method: "PUT" })).status).toBe(204);
  },
  /** While on, every call for the thread is answered 401, as if its signature did not match. */
  async refuse(tenant: Tenant, thread: string, on: boolean): Promise<void> {
    const res = await fetch(`${CONTROL}/refuse/${tenant}/${thread}`, { method: on ? "PUT" : "DELETE" });
    expect(res.status).toBe(204);
  },
};
