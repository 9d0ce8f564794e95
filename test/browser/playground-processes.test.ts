import { randomUUID } from "node:crypto";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, api, launch, signIn, watchErrors, workerUrl } from "./browser.ts";

// The playground's background processes and preview URLs, as a person uses them: start a web server from the page,
// follow its logs live, expose its port, open the preview URL in a new tab, revoke it, stop the server.
const THREAD = `pgp-${randomUUID().slice(0, 8)}`;
const SERVER = "python3 -m http.server 8000";
// The sign-in check asks for a thread that does not exist (404), and Chromium logs every failed request.
const EXPECTED_ERRORS = [/status of 404/];

let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];

const log = () => page.locator("#process-log");
const row = (command: string) => page.locator("#process-table tbody tr", { hasText: command });

async function startProcess(command: string): Promise<void> {
  await page.getByLabel("Command").fill(command);
  await page.getByRole("button", { name: "Start process" }).click();
}

beforeAll(async () => {
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1400, height: 1200 } });
  page = await context.newPage();
  errors = watchErrors(page, EXPECTED_ERRORS);
  await page.goto(`${workerUrl()}/playground`);
  await signIn(page);
  await page.getByLabel("New thread id (optional)").fill(THREAD);
  await page.getByRole("button", { name: "Create thread" }).click();
  // The thread is open once its state shows (a poll is for tests only, so a bounded wait for the text).
  await page.locator("#state dd", { hasText: THREAD }).waitFor({ timeout: 60_000 });
});

afterAll(async () => {
  await page?.screenshot({ path: path.join(ARTIFACTS, "playground-processes.png"), fullPage: true }).catch(() => undefined);
  await browser?.close();
  await api("DELETE", `/v1/threads/${THREAD}`).catch(() => undefined);
});

describe("the playground's processes and preview URLs", () => {
  let previewUrl = "";

  it("starts a web server in the background, lists it as running and streams its log", async () => {
    await startProcess(SERVER);
    await expect.poll(() => row(SERVER).getAttribute("data-status"), { timeout: 30_000 }).toBe("running");
    expect(await row(SERVER).locator("td").nth(1).textContent()).toBe("running");
    // The page follows the new process at once; http.server says where it listens once it does.
    expect(await log().getAttribute("data-state")).toBe("following");
    await log().getByText("Serving HTTP on").waitFor({ timeout: 60_000 });
    expect(await log().getAttribute("data-process")).toBe(await row(SERVER).getAttribute("data-process-id"));
  });

  it("exposes port 8000: the preview URL opens the directory listing in a new tab, and its request shows in the log", async () => {
    await page.getByLabel("Port").fill("8000");
    await page.getByRole("button", { name: "Expose port" }).click();
    const link = page.getByRole("link", { name: "Open port 8000" });
    await link.waitFor({ timeout: 30_000 });
    previewUrl = (await link.getAttribute("href")) ?? "";
    expect(previewUrl).toMatch(new RegExp(`^${workerUrl()}/preview/`));
    expect(await link.getAttribute("target")).toBe("_blank");
    // The thread's state counts them too.
    await page.getByRole("button", { name: "Refresh state" }).click();
    await page.locator("#state dd", { hasText: "1 running of 1 listed" }).waitFor({ timeout: 30_000 });
    expect(await page.locator("#state dt", { hasText: "Ports" }).locator("+ dd").textContent()).toBe("8000");

    const [tab] = await Promise.all([context.waitForEvent("page"), link.click()]);
    await tab.getByText("Directory listing for /").waitFor({ timeout: 30_000 });
    await tab.close();
    // The page itself reaches it too (same origin), with no credential of its own.
    const listing = await page.evaluate((url) => fetch(url, { credentials: "omit" }).then((r) => r.text()), previewUrl);
    expect(listing).toContain("Directory listing for /");
    // The server's access log, written after the stream began: it arrives live.
    await log().locator('[data-stream="stderr"]', { hasText: '"GET / HTTP/1.1" 200' }).first().waitFor({ timeout: 30_000 });
  });

  it("revokes the preview URL: the link goes and the URL answers 404", async () => {
    await page.getByRole("button", { name: "Revoke port 8000" }).click();
    await expect.poll(() => page.getByRole("link", { name: "Open port 8000" }).count()).toBe(0);
    expect((await fetch(previewUrl)).status).toBe(404);
  });

  it("stops the server: it shows as killed, and its log ends", async () => {
    await row(SERVER).getByRole("button", { name: /^Stop / }).click();
    await expect.poll(() => row(SERVER).getAttribute("data-status"), { timeout: 30_000 }).toBe("killed");
    expect(await row(SERVER).locator("td").nth(1).textContent()).toMatch(/^killed \(exit \d+, stopped\)$/);
    expect(await row(SERVER).getByRole("button", { name: /^Stop / }).count()).toBe(0);
    await expect.poll(() => log().getAttribute("data-state"), { timeout: 30_000 }).toBe("ended");
    expect(await page.locator("#process-log-status").textContent()).toContain("killed");
    const listed = (await (await api("GET", `/v1/threads/${THREAD}/processes`)).json()) as { processes: { command: string; status: string }[] };
    expect(listed.processes.find((p) => p.command === SERVER)?.status).toBe("killed");
  });

  it("shows a process that exits by itself with its exit code, and replays an ended one's log", async () => {
    const command = "echo done-here; exit 3";
    await startProcess(command);
    await expect.poll(() => row(command).getAttribute("data-status"), { timeout: 60_000 }).toBe("exited");
    expect(await row(command).locator("td").nth(1).textContent()).toBe("exited (exit 3)");
    expect(await log().textContent()).toContain("done-here");
    // Choosing the stopped server again shows its retained log, then its end.
    await row(SERVER).getByRole("button", { name: /^Logs of / }).click();
    await log().getByText("Serving HTTP on").waitFor({ timeout: 30_000 });
    await expect.poll(() => log().getAttribute("data-state"), { timeout: 30_000 }).toBe("ended");
    expect(await row(SERVER).getByRole("button", { name: /^Logs of / }).getAttribute("aria-pressed")).toBe("true");
  });

  it("logged no error and broke no content security policy", () => {
    expect(errors).toEqual([]);
  });
});
