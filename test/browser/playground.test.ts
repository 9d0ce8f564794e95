import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, api, apiKey, launch, signIn, transferredBytes, watchErrors, workerUrl } from "./browser.ts";

// A person's session in the playground, step by step in one page: sign in, create a thread, run cells and watch
// them stream, see a figure, upload and download files, replay a run from the history, cancel a long cell.
const THREAD = `pg-${randomUUID().slice(0, 8)}`;
// The sign-in check asks for a thread that does not exist (404), and Chromium logs every failed request.
const EXPECTED_ERRORS = [/status of 404/];

let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];

const output = () => page.locator("#output");
const runStatus = () => page.locator("#run-status");

async function runCell(language: string, code: string): Promise<void> {
  await page.getByLabel("Language").selectOption(language);
  await page.getByRole("textbox", { name: "Code" }).fill(code);
  await page.getByRole("button", { name: "Run", exact: true }).click();
}

/** Waits until the output's run is over (any way but running) and returns how it ended. */
async function ended(): Promise<string> {
  await page.waitForFunction(() => !["running", undefined].includes(document.getElementById("output")?.dataset.state), null, { timeout: 90_000 });
  return (await output().getAttribute("data-state")) ?? "";
}

beforeAll(async () => {
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  page = await context.newPage();
  errors = watchErrors(page, EXPECTED_ERRORS);
});

afterAll(async () => {
  // The page as the flow left it, for a person to look at.
  await page?.screenshot({ path: path.join(ARTIFACTS, "playground.png"), fullPage: true }).catch(() => undefined);
  await browser?.close();
  await api("DELETE", `/v1/threads/${THREAD}`).catch(() => undefined);
});

describe("the playground", () => {
  it("loads in under 200 KB, from the landing page's link", async () => {
    await page.goto(`${workerUrl()}/`);
    await page.getByRole("link", { name: "Playground" }).click();
    await page.waitForURL(/\/playground$/);
    await page.waitForLoadState("load");
    const bytes = await transferredBytes(page);
    console.log(`playground first load: ${bytes} bytes transferred`);
    expect(bytes).toBeGreaterThan(10_000);
    expect(bytes).toBeLessThan(200_000);
  });

  it("signs in with an API key, kept in session storage and never in the URL", async () => {
    await signIn(page);
    expect(page.url()).toBe(`${workerUrl()}/playground`);
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem("threadbox.playground") ?? "{}", local: localStorage.length }));
    expect(JSON.parse(stored.session).credential).toEqual({ kind: "key", value: apiKey() });
    expect(stored.local).toBe(0);
    await expect.poll(() => page.getByLabel("API key").isVisible()).toBe(false);
  });

  it("creates a thread and shows its state", async () => {
    await page.getByLabel("New thread id (optional)").fill(THREAD);
    await page.getByRole("button", { name: "Create thread" }).click();
    const state = page.locator("#state");
    await expect.poll(() => state.textContent(), { timeout: 60_000 }).toContain(THREAD);
    await expect.poll(() => state.textContent()).toMatch(/Python\s*3\.\d+/);
    expect(await state.textContent()).toMatch(/Runtime\s*#0/);
    expect(await page.getByLabel("Your threads in this tab").inputValue()).toBe(THREAD);
  });

  it("streams a cell's output: its first line shows while the program still runs", async () => {
    await runCell(
      "python-context",
      ['import os, time', 'print("first line", flush=True)', "for _ in range(900):", '    if os.path.exists("go.txt"):', "        break", "    time.sleep(0.1)", 'print("second line")'].join("\n"),
    );
    await output().getByText("first line").waitFor({ timeout: 60_000 });
    // The program waits for go.txt, so it cannot have ended yet.
    expect(await output().getAttribute("data-state")).toBe("running");
    expect(await output().textContent()).not.toContain("second line");
    expect(await page.getByRole("button", { name: "Cancel", exact: true }).isEnabled()).toBe(true);
    expect((await api("PUT", `/v1/threads/${THREAD}/files/go.txt`, undefined, "go")).status).toBe(201);
    expect(await ended()).toBe("succeeded");
    expect(await output().textContent()).toContain("second line");
    expect(await output().locator('[data-stream="stdout"]').first().textContent()).toContain("first line");
  });

  it("tells stdout and stderr apart, and shows an error's type and line", async () => {
    await runCell("python", 'import sys\nprint("to stdout")\nprint("to stderr", file=sys.stderr)\nx = 1\nprint(x / 0)');
    expect(await ended()).toBe("failed");
    expect(await output().locator('[data-stream="stdout"]').textContent()).toContain("to stdout");
    expect(await output().locator('[data-stream="stderr"]').first().textContent()).toContain("to stderr");
    await expect.poll(() => runStatus().textContent()).toContain("ZeroDivisionError on line 5");
    expect(await page.getByRole("group", { name: "Error" }).textContent()).toContain("ZeroDivisionError");
  });

  it("renders a matplotlib figure inline", async () => {
    await runCell("python-context", "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9, 16])\nplt.show()");
    expect(await ended()).toBe("succeeded");
    const figure = page.getByRole("img", { name: "Figure 1" });
    await figure.waitFor();
    expect(await figure.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 100)).toBe(true);
  });

  it("shows an HTML result in a sandboxed iframe, never in the page", async () => {
    await runCell("python-context", 'import pandas as pd\npd.DataFrame({"planet": ["Mercury", "Venus"]})');
    expect(await ended()).toBe("succeeded");
    const frame = output().locator("iframe");
    expect(await frame.getAttribute("sandbox")).toBe("");
    expect(await page.frameLocator("#output iframe").locator("table").textContent()).toContain("Venus");
    expect(await page.locator("#output > table, #output table").count()).toBe(0);
  });

  it("runs shell, JavaScript and TypeScript too", async () => {
    await runCell("bash", "echo from-bash $((6 * 7))");
    expect(await ended()).toBe("succeeded");
    expect(await output().textContent()).toContain("from-bash 42");
    await runCell("typescript", "const n: number = 21;\nconsole.log(`from-ts ${n * 2}`);");
    expect(await ended()).toBe("succeeded");
    expect(await output().textContent()).toContain("from-ts 42");
  });

  it("uploads files (picker and drag and drop), downloads one back and deletes one", async () => {
    await page.getByLabel("Upload files").setInputFiles({ name: "hello.txt", mimeType: "text/plain", buffer: Buffer.from("hello, playground\n") });
    await page.getByRole("button", { name: "Download hello.txt" }).waitFor();
    const dropped = await page.evaluateHandle(() => {
      const data = new DataTransfer();
      data.items.add(new File(["dropped bytes"], "dropped.txt", { type: "text/plain" }));
      return data;
    });
    await page.dispatchEvent("#drop-zone", "drop", { dataTransfer: dropped });
    await page.getByRole("button", { name: "Download dropped.txt" }).waitFor();
    expect(await (await api("GET", `/v1/threads/${THREAD}/files/dropped.txt`)).text()).toBe("dropped bytes");

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download hello.txt" }).click()]);
    expect(download.suggestedFilename()).toBe("hello.txt");
    expect(await readFile(await download.path(), "utf8")).toBe("hello, playground\n");

    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Delete dropped.txt" }).click();
    await expect.poll(() => page.getByRole("button", { name: "Download dropped.txt" }).count()).toBe(0);
    expect((await api("GET", `/v1/threads/${THREAD}/files/dropped.txt`)).status).toBe(404);
  });

  it("lists past runs with status and duration, and replays one's events", async () => {
    await page.getByRole("button", { name: "Refresh history" }).click();
    const item = page.locator("#history-list button", { hasText: "import os, time" });
    await item.waitFor();
    expect(await item.textContent()).toMatch(/succeeded · cell · [\d.]+ (ms|s)/);
    await page.getByRole("button", { name: "Clear output" }).click();
    await item.click();
    expect(await ended()).toBe("succeeded");
    expect(await output().textContent()).toContain("Replay of");
    expect(await output().textContent()).toContain("first line");
    expect(await output().textContent()).toContain("second line");
  });

  it("cancels a long cell", async () => {
    await page.getByLabel("Timeout (seconds)").fill("300");
    await runCell("python-context", 'import time\nprint("sleeping", flush=True)\ntime.sleep(280)\nprint("woke up")');
    await output().getByText("sleeping").waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    expect(await ended()).toBe("cancelled");
    expect(await runStatus().textContent()).toContain("Cancelled");
    expect(await output().textContent()).not.toContain("woke up");
    // The thread is free again: the next cell runs (in a fresh interpreter).
    await runCell("python-context", 'print("after the cancel")');
    expect(await ended()).toBe("succeeded");
    expect(await output().textContent()).toContain("after the cancel");
    // A one-shot run is cancelled in place.
    await runCell("python", 'import time\nprint("napping", flush=True)\ntime.sleep(280)');
    await output().getByText("napping").waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    expect(await ended()).toBe("cancelled");
  });

  it("signs in with a thread token too: its thread opens, and there is nothing else to choose", async () => {
    const minted = await api("POST", "/v1/tokens", { thread: THREAD, ttl_seconds: 600 });
    const { token } = (await minted.json()) as { token: string };
    const tab = await context.newPage();
    const tabErrors = watchErrors(tab, EXPECTED_ERRORS);
    await tab.goto(`${workerUrl()}/playground`);
    await tab.getByLabel("Thread token").fill(token);
    await tab.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => tab.locator("#state").textContent(), { timeout: 30_000 }).toContain(THREAD);
    expect(await tab.getByRole("button", { name: "Create thread" }).isVisible()).toBe(false);
    expect(await tab.locator("#who-text").textContent()).toContain(`a token for ${THREAD}`);
    await tab.getByLabel("Language").selectOption("bash");
    await tab.getByRole("textbox", { name: "Code" }).fill("echo with-a-token");
    await tab.getByRole("button", { name: "Run", exact: true }).click();
    await tab.waitForFunction(() => document.getElementById("output")?.dataset.state === "succeeded", null, { timeout: 60_000 });
    expect(await tab.locator("#output").textContent()).toContain("with-a-token");
    await tab.getByRole("button", { name: "Sign out" }).click();
    await tab.getByLabel("Thread token").waitFor();
    expect(await tab.evaluate(() => sessionStorage.length)).toBe(0);
    expect(tabErrors).toEqual([]);
    await tab.close();
  });

  it("logged no error and broke no content security policy", () => {
    expect(errors).toEqual([]);
  });
});
