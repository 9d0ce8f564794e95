import { defineConfig } from "vitest/config";

// The production image's tests (`npm run image:test`, which builds the image first; CI runs them from .ci/run). Files
// run one at a time: each starts containers and a worker, and the machine has two cores.
export default defineConfig({
  test: {
    name: "image",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/image/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});
