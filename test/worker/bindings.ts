/**
 * Fixed secrets for the worker tests: vitest.config.ts binds them (over anything in .dev.vars), and tests
 * present the plain keys. API_KEYS holds only the keys' SHA-256, as in production.
 */
export const TEST_KEYS = {
  acme: "tbk_test_acme_7f3c9a1e5d2b4c6a",
  beta: "tbk_test_beta_2e8d4f6a0c1b3d5e",
} as const;

export const WORKER_TEST_BINDINGS = {
  API_KEYS: JSON.stringify({
    "06fdd8a97167250874bb8684e34eb45e4195b2550ba0332da1350f84c4a96876": "acme",
    "54f8e76d3cb7cd20b627198c5a8f813dd1157d330702353115ad4205f073300d": "beta",
  }),
  TOKEN_SECRET: "threadbox-worker-tests-token-secret-0123456789",
  HMAC_SECRET: "threadbox-worker-tests-hmac-secret",
};

/** Vars over wrangler.toml's: the stand-in runtime (test/fake-runtime.ts), and bounds small enough to reach. */
export const WORKER_TEST_VARS = {
  RUNTIME_URL: "http://runtime.test",
  QUEUE_MAX: "1",
  MAX_BODY_BYTES: "4096",
  // Out of reach for the other tests; rate-limit.test.ts sets small limits in envs of its own.
  RATE_LIMIT_PER_MINUTE: "100000",
  RATE_LIMIT_BURST: "10000",
  TOKEN_RATE_LIMIT_PER_MINUTE: "100000",
  TOKEN_RATE_LIMIT_BURST: "10000",
  OPEN_RATE_LIMIT_PER_MINUTE: "100000",
  OPEN_RATE_LIMIT_BURST: "10000",
};
