import { describe } from "vitest";
import { CHECKPOINT_CASES, CHECKPOINT_FILES } from "./checkpoint-cases.ts";
import { hostileTests, useTarget } from "./suite.ts";
import { runtimeTarget } from "./target.ts";

// Checkpoints against a hostile workspace (C1–C5 in checkpoint-cases.ts) under proot and under bwrap. Each row also
// checks the teardown (hostile.ts): no process of the run left, the same server, and a bystander thread's run alongside.

const env = { CHECKPOINT_MAX_FILES: String(CHECKPOINT_FILES) };

describe("proot", () => {
  const target = useTarget(() => runtimeTarget("proot", env));
  hostileTests("checkpoints under proot", "proot", CHECKPOINT_CASES, target);
});

describe("bwrap", () => {
  const target = useTarget(() => runtimeTarget("bwrap", env));
  hostileTests("checkpoints under bwrap", "bwrap", CHECKPOINT_CASES, target);
});
