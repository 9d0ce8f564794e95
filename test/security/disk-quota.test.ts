import { describe } from "vitest";
import { QUOTA_CASES, QUOTA_INODES, QUOTA_MB } from "./quota-cases.ts";
import { hostileTests, useTarget } from "./suite.ts";
import { runtimeTarget } from "./target.ts";

// The per-thread disk quota (Q1–Q6 in quota-cases.ts) under proot and under bwrap, on runtimes with a 16 MiB,
// 2000-inode quota. Each row also checks the teardown (hostile.ts): no process of the run left, the same server,
// and a bystander thread's run alongside.

const env = { THREAD_DISK_MB: String(QUOTA_MB), THREAD_INODES: String(QUOTA_INODES) };

describe("proot", () => {
  const target = useTarget(() => runtimeTarget("proot", env));
  hostileTests("disk quota under proot", "proot", QUOTA_CASES, target);
});

describe("bwrap", () => {
  const target = useTarget(() => runtimeTarget("bwrap", env));
  hostileTests("disk quota under bwrap", "bwrap", QUOTA_CASES, target);
});
