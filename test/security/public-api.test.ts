import { CONFINEMENT_CASES } from "./confinement-cases.ts";
import { LIMIT_CASES } from "./limit-cases.ts";
import { type Stack, startStack } from "../e2e/stack.ts";
import { hostileTests, useTarget } from "./suite.ts";
import { securityEnv, stackTarget } from "./target.ts";

// Representative rows through the public API (worker in workerd, the thread's Durable Object, the runtime), with
// the same teardown checks: R4 (a per-call memory limit passes through the worker), R6 (the timeout), X13 (neither
// the runtime's nor the worker's secrets, API keys included, reach the sandbox). The other rows run against the
// runtime directly (proot-*.test.ts, bwrap.test.ts): wrangler dev is slow to start, and the sandbox is the same.
// The API's own cases (keys, tokens, signatures, sizes, traversal, rate limits) are in test/e2e/auth.test.ts,
// test/e2e/api.test.ts and test/worker/.

const PICKED = ["R4", "R6", "X13"];
let stack: Stack | undefined;
const target = useTarget(
  async () => {
    const { env, canaries } = securityEnv();
    stack = await startStack({ runtime: env });
    return stackTarget(stack, [...canaries, stack.tenants.a.key, stack.tenants.b.key]);
  },
  async () => stack?.stop(),
);

const cases = [...LIMIT_CASES, ...CONFINEMENT_CASES].filter((c) => PICKED.includes(c.id));
hostileTests("hostile programs through the public API", "proot", cases, target);
