import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type Page, chromium } from "playwright-core";
import { inject } from "vitest";

/** Where the tests leave screenshots (gitignored), for a person to look at after a run. */
export const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "artifacts");

/**
 * Debian's Chromium, headless, never a downloaded build. The background-networking flags keep it from calling out
 * (this machine refuses those connections); playwright gives it a fresh profile directory of its own.
 */
export function launch(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export const workerUrl = () => inject("workerUrl");
export const apiKey = () => inject("apiKey");

/** The public API from the test itself (Node), with the tenant's key. */
export async function api(method: string, route: string, body?: unknown, raw?: string): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey()}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(workerUrl() + route, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
}

/** Fails the test on anything the page logs as an error (a CSP violation, an exception), but the expected 404s. */
export function watchErrors(page: Page, expected: RegExp[] = []): string[] {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    if (expected.some((re) => re.test(text))) return;
    errors.push(`console: ${text}`);
  });
  return errors;
}

/** Sums what the page's first load transferred (the document and every resource, headers included). */
export function transferredBytes(page: Page): Promise<number> {
  return page.evaluate(() =>
    [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")].reduce(
      (sum, entry) => sum + (entry as PerformanceResourceTiming).transferSize,
      0,
    ),
  );
}

/** Signs in with the API key through the form, as a person would. */
export async function signIn(page: Page): Promise<void> {
  await page.getByLabel("API key").fill(apiKey());
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}
