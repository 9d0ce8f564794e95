import { randomUUID } from "node:crypto";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, api, apiKey, launch, watchErrors, workerUrl } from "./browser.ts";

// The API reference at /docs: Swagger UI served by the worker (no CDN), every operation of /openapi.json listed, and
// "try it out" calling this same worker with the credential given to "Authorize".
type Doc = { paths: Record<string, Record<string, { operationId: string; tags: string[] }>> };

let browser: Browser;
let page: Page;
let errors: string[];
const created = `docs-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  errors = watchErrors(page);
});

afterAll(async () => {
  await page?.screenshot({ path: path.join(ARTIFACTS, "docs.png"), fullPage: false }).catch(() => undefined);
  await browser?.close();
  await api("DELETE", `/v1/threads/${created}`).catch(() => undefined);
});

describe("/docs", () => {
  it("loads from this origin only and lists every route of the OpenAPI document", async () => {
    const foreign: string[] = [];
    page.on("request", (req) => {
      if (!req.url().startsWith(workerUrl()) && !req.url().startsWith("data:")) foreign.push(req.url());
    });
    await page.goto(`${workerUrl()}/docs`);
    const doc = (await (await fetch(`${workerUrl()}/openapi.json`)).json()) as Doc;
    const ops = Object.entries(doc.paths).flatMap(([p, methods]) => Object.entries(methods).map(([method, op]) => ({ path: p, method, ...op })));
    expect(ops.length).toBeGreaterThan(25);
    await expect.poll(() => page.locator(".opblock").count(), { timeout: 30_000 }).toBe(ops.length);
    for (const op of ops) {
      const block = page.locator(`#operations-${op.tags[0]}-${op.operationId}`);
      expect(await block.count(), `${op.method} ${op.path}`).toBe(1);
      expect(await block.locator(".opblock-summary-path").getAttribute("data-path"), op.operationId).toBe(op.path);
      expect((await block.locator(".opblock-summary-method").textContent())?.toLowerCase(), op.operationId).toBe(op.method);
    }
    expect(foreign).toEqual([]);
  });

  it("tries a call against this worker with the key given to Authorize", async () => {
    await page.getByRole("button", { name: /Authorize/ }).first().click();
    await page.getByRole("textbox", { name: "auth-bearer-value" }).fill(apiKey());
    await page.locator(".modal-ux").getByRole("button", { name: "Apply credentials" }).click();
    await page.locator(".modal-ux").getByRole("button", { name: "Close" }).first().click();

    const op = page.locator("#operations-Threads-createThread");
    await op.locator(".opblock-summary").first().click();
    await op.getByRole("button", { name: "Try it out" }).click();
    await op.locator("textarea.body-param__text").fill(JSON.stringify({ id: created }));
    await op.getByRole("button", { name: "Execute" }).click();
    const status = op.locator(".live-responses-table tbody .response-col_status").first();
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toContain("201");
    expect((await api("GET", `/v1/threads/${created}`)).status).toBe(200);
  });

  it("logged no error and broke no content security policy", () => {
    expect(errors).toEqual([]);
  });
});
