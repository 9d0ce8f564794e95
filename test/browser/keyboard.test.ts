import { randomUUID } from "node:crypto";
import path from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, api, apiKey, launch, signIn, watchErrors, workerUrl } from "./browser.ts";

// The playground by keyboard alone, its controls' names (queried by role and label, as assistive technology
// finds them), and on a phone-sized screen.
let browser: Browser;
const threads: string[] = [];

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  for (const id of threads) await api("DELETE", `/v1/threads/${id}`).catch(() => undefined);
});

/**
 * Presses Tab until the focused element is `target` (at most 60 presses): fails when the keyboard cannot get there.
 * In the code editor Tab indents, so it first presses Escape there, as the editor's hint tells a person to.
 */
async function tabTo(page: Page, target: Locator): Promise<void> {
  const handle = await target.elementHandle();
  for (let i = 0; i < 60; i++) {
    if (await page.evaluate((el) => document.activeElement === el, handle)) return;
    if (await page.evaluate(() => document.activeElement?.id === "code")) await page.keyboard.press("Escape");
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${await target.evaluate((el) => el.outerHTML.slice(0, 120))}`);
}

/** Every control with no accessible name: the ones a screen reader would announce as just "button" or "edit". */
function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>("input, select, textarea, button, a[href], [role=textbox]")]
      .filter((el) => el.offsetParent !== null || el === document.activeElement)
      .filter((el) => {
        const labelled = el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
        const labels = "labels" in el ? (el as HTMLInputElement).labels : null;
        const text = el instanceof HTMLButtonElement || el instanceof HTMLAnchorElement ? el.textContent?.trim() : "";
        return !labelled && !(labels && labels.length > 0) && !text;
      })
      .map((el) => el.outerHTML.slice(0, 100)),
  );
}

describe("the playground's accessibility", () => {
  it("names every control: the key field 'API key', the code a textbox 'Code', the button 'Run'", async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page, [/status of 404/]);
    await page.goto(`${workerUrl()}/playground`);
    expect(await page.getByRole("textbox", { name: "API key" }).getAttribute("type")).toBe("password");
    expect(await unnamedControls(page)).toEqual([]);
    await signIn(page);
    expect(await page.getByRole("textbox", { name: "Code" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Run", exact: true }).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Cancel", exact: true }).isDisabled()).toBe(true);
    expect(await page.getByRole("button", { name: "Create thread" }).count()).toBe(1);
    expect(await page.getByRole("textbox", { name: "Thread id", exact: true }).count()).toBe(1);
    expect(await page.getByLabel("Upload files").getAttribute("type")).toBe("file");
    expect(await page.getByRole("combobox", { name: "Language" }).count()).toBe(1);
    expect(await page.getByRole("log", { name: "Output" }).count()).toBe(1);
    expect(await page.getByRole("status").count()).toBeGreaterThan(0);
    expect(await unnamedControls(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("works by keyboard alone: sign in, create a thread, write code, run it, leave the editor", async () => {
    const page = await browser.newPage();
    await page.goto(`${workerUrl()}/playground`);
    await tabTo(page, page.getByLabel("API key"));
    await page.keyboard.type(apiKey());
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Sign out" }).waitFor();

    const id = `kb-${randomUUID().slice(0, 8)}`;
    threads.push(id);
    await tabTo(page, page.getByLabel("New thread id (optional)"));
    await page.keyboard.type(id);
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#state").textContent(), { timeout: 60_000 }).toContain(id);

    const code = page.getByRole("textbox", { name: "Code" });
    await tabTo(page, code);
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.type("for i in range(3):");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab"); // Tab indents inside the editor
    await page.keyboard.type("print('keyboard', i)");
    expect(await code.inputValue()).toBe("for i in range(3):\n    print('keyboard', i)");
    await page.keyboard.press("ControlOrMeta+Enter");
    await page.waitForFunction(() => document.getElementById("output")?.dataset.state === "succeeded", null, { timeout: 60_000 });
    expect(await page.locator("#output").textContent()).toContain("keyboard 2");

    // Escape, then Tab, leaves the editor for the Run button; Enter there runs again.
    await code.focus();
    await page.keyboard.press("Escape");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("run");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.getElementById("history-list")?.querySelectorAll("button").length === 2, null, { timeout: 60_000 });

    // The history is reachable too, and Enter replays a run.
    await tabTo(page, page.locator("#history-list button").first());
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#output").textContent()).toContain("Replay of");
    await page.close();
  });

  it("fits a phone-sized screen", async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${workerUrl()}/playground`);
    await signIn(page);
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(await fits()).toBe(true);
    const run = page.getByRole("button", { name: "Run", exact: true });
    await run.scrollIntoViewIfNeeded();
    const box = await run.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= 375).toBe(true);
    const code = await page.getByRole("textbox", { name: "Code" }).boundingBox();
    expect(code && code.width > 300).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, "playground-phone.png"), fullPage: true });
    await context.close();
  });
});
