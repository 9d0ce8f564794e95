import { randomUUID } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { api, launch, workerUrl } from "./browser.ts";

// A browser app on another loopback port calling the worker directly with a thread token, as CORS_ORIGINS allows
// (the stack lists one of the two pages' origins), and one that is not listed getting nothing.
const THREAD = `cors-${randomUUID().slice(0, 8)}`;
let browser: Browser;
let token: string;

type Outcome = { ok: true; status: number; executionId: string | null; requestId: string | null; body: string } | { ok: false; error: string };

/** Runs `echo` on the thread from a page of `origin`, with the token, the way a browser app would. */
async function execFrom(page: Page, origin: string): Promise<Outcome> {
  await page.goto(`${origin}/`);
  return page.evaluate(
    async ({ worker, thread, token }) => {
      try {
        const res = await fetch(`${worker}/v1/threads/${thread}/exec`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/x-ndjson" },
          body: JSON.stringify({ command: "echo from-another-origin" }),
        });
        return { ok: true as const, status: res.status, executionId: res.headers.get("x-execution-id"), requestId: res.headers.get("x-request-id"), body: await res.text() };
      } catch (err) {
        return { ok: false as const, error: String(err) };
      }
    },
    { worker: workerUrl(), thread: THREAD, token },
  );
}

const executions = async () => ((await (await api("GET", `/v1/threads/${THREAD}/executions`)).json()) as { executions: unknown[] }).executions.length;

beforeAll(async () => {
  expect((await api("POST", "/v1/threads", { id: THREAD })).status).toBe(201);
  const minted = await api("POST", "/v1/tokens", { thread: THREAD, ttl_seconds: 600 });
  token = ((await minted.json()) as { token: string }).token;
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await api("DELETE", `/v1/threads/${THREAD}`).catch(() => undefined);
});

describe("CORS in a browser", () => {
  it("lets a listed origin's page run code with a token and read the execution id", async () => {
    const page = await browser.newPage();
    const outcome = await execFrom(page, inject("listedOrigin"));
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.status).toBe(200);
    expect(outcome.executionId).toMatch(/^ex_/);
    expect(outcome.requestId).toBeTruthy();
    expect(outcome.body).toContain("from-another-origin");
    expect(outcome.body).toContain(`"execution_id":"${outcome.executionId}"`);
    await page.close();
  });

  it("gives an unlisted origin's page nothing, and its request never runs", async () => {
    const before = await executions();
    const page = await browser.newPage();
    const outcome = await execFrom(page, inject("otherOrigin"));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error).toContain("Failed to fetch");
    expect(await executions()).toBe(before);
    await page.close();
  });
});
