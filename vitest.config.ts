import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { fakeRuntime } from "./test/fake-runtime.ts";
import { WORKER_TEST_BINDINGS, WORKER_TEST_VARS } from "./test/worker/bindings.ts";

// One project per test layer: pure unit tests, the runtime against real proot and python3, and end to end
// through the worker in workerd (`wrangler dev`).
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      // The SDK (client/) against scripted loopback servers; against the real stack it is in e2e (client-*.test.ts).
      { test: { name: "client", include: ["test/client/**/*.test.ts"], testTimeout: 30_000 } },
      {
        test: {
          name: "runtime",
          include: ["test/runtime/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Inside workerd with the worker's wrangler.toml; the secrets are fixed test values, never .dev.vars. Every
        // outbound fetch goes to a scripted stand-in runtime in Node, which checks signatures like the real one.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { ...WORKER_TEST_BINDINGS, ...WORKER_TEST_VARS },
              outboundService: fakeRuntime({ url: WORKER_TEST_VARS.RUNTIME_URL, secret: WORKER_TEST_BINDINGS.HMAC_SECRET }),
            },
          }),
        ],
        // Generous: workerd builds the OpenAPI document and the MCP server on first use, slow on a busy machine.
        test: { name: "worker", include: ["test/worker/**/*.test.ts"], testTimeout: 30_000 },
      },
      {
        // SECURITY.md's hostile-input suite against a real runtime (and the stack where the public API matters).
        test: {
          name: "security",
          include: ["test/security/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The playground, the API reference and CORS in Debian's Chromium (playwright-core), against one stack for
        // all files (global-setup.ts), one file at a time; screenshots land in test/browser/artifacts.
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          globalSetup: ["test/browser/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
