import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { ExecutionEvent } from "../../shared/src/index.ts";
import type { Stack } from "./stack.ts";

/** Small helpers shared by the end-to-end tests (one stack per file; each test makes its own threads). */

export const SSE = "text/event-stream";
export const NDJSON = "application/x-ndjson";

export const uniqueId = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** Creates a thread through the public API (201) and returns its id. */
export async function createThread(stack: Stack, id: string = randomUUID(), auth?: string): Promise<string> {
  const res = await stack.api("POST", "/v1/threads", { body: { id }, ...(auth === undefined ? {} : { auth }) });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /v1/threads ${id}: expected 201, got ${res.status}: ${text}`);
  return id;
}

/** A JSON answer with the status it must have. */
export async function expectJson<T = Record<string, unknown>>(res: Response | Promise<Response>, status: number): Promise<T> {
  const r = await res;
  const text = await r.text();
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${text}`);
  expect(r.headers.get("content-type") ?? "").toContain("application/json");
  return JSON.parse(text) as T;
}

/** The error body every failure answers with. */
export type ErrorJson = { error: { code: string; message: string; details?: unknown; request_id?: string } };

export { liveEvents } from "../runtime/harness.ts";

/** Exactly one terminal event, and it is the last; seqs strictly increasing; one execution id. */
export function checkTerminal(events: ExecutionEvent[]): ExecutionEvent {
  const terminal = events.filter((e) => e.type === "result" || e.type === "error");
  expect(terminal).toHaveLength(1);
  expect(events.at(-1)).toBe(terminal[0]);
  for (let i = 1; i < events.length; i++) expect((events[i] as ExecutionEvent).seq).toBeGreaterThan((events[i - 1] as ExecutionEvent).seq);
  const id = events[0]?.execution_id;
  for (const e of events) expect(e.execution_id).toBe(id);
  return terminal[0] as ExecutionEvent;
}

export const dataOf = (events: ExecutionEvent[], type: "stdout" | "stderr") =>
  events.flatMap((e) => (e.type === type ? [e.data] : [])).join("");

/** Polls `check` until it returns true or `ms` pass (bounded). */
export async function waitFor(check: () => Promise<boolean> | boolean, ms: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}
