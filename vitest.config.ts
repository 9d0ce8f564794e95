import { defineConfig } from "vitest/config";

// One project per test layer: pure unit tests, then the runtime against real proot and python3.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        test: {
          name: "runtime",
          include: ["test/runtime/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
