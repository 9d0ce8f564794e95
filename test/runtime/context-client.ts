import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { type CellResult, CellResultSchema, type ContextInfo, ContextInfoSchema, type ExecutionEvent } from "../../shared/src/index.ts";
import type { RuntimeProcess } from "./harness.ts";

/** Calls on the stateful contexts of tenant `acme` of a runtime (given lazily: tests start it in beforeAll). */
export function contextClient(runtime: () => RuntimeProcess) {
  const contextsPath = (thread: string) => `/threads/acme/${thread}/contexts`;

  /** `fields`: more of the cell's request (its `env`, say). */
  const runCall = (thread: string, ctx: string, code: string, opts: { timeout?: number; accept?: "json" | "sse"; fields?: Record<string, unknown> } = {}) => {
    const body = { code, ...(opts.timeout === undefined ? {} : { timeout: opts.timeout }), ...opts.fields };
    return runtime().call("POST", `${contextsPath(thread)}/${ctx}/run`, { body, accept: opts.accept ?? "json" });
  };

  async function run(thread: string, ctx: string, code: string, timeout?: number): Promise<CellResult> {
    const res = await runCall(thread, ctx, code, { timeout });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return CellResultSchema.parse(JSON.parse(text));
  }

  return {
    contextsPath,
    runCall,
    run,
    async create(thread: string, body: Record<string, unknown> = {}): Promise<ContextInfo> {
      return ContextInfoSchema.parse(await runtime().json("POST", contextsPath(thread), body, 201));
    },
    async info(thread: string, ctx: string): Promise<ContextInfo> {
      return ContextInfoSchema.parse(await runtime().json("GET", `${contextsPath(thread)}/${ctx}`));
    },
    /** A cell that must succeed; returns its final expression's text/plain. */
    async value(thread: string, ctx: string, code: string): Promise<string | undefined> {
      const r = await run(thread, ctx, code);
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
      return r.result?.["text/plain"];
    },
  };
}

export const newThread = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** The cell result that ends a stream of events. */
export function cellOf(events: ExecutionEvent[]): CellResult {
  const last = events.at(-1);
  if (last?.type !== "result" || last.result.kind !== "cell") throw new Error(`unexpected ending: ${JSON.stringify(last)}`);
  return last.result.value;
}

/** The error code of a call that must fail with `status`. */
export async function failure(res: Response, status: number): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return (JSON.parse(text) as { error: { code: string } }).error.code;
}
