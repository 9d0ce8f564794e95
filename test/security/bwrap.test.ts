import { CGROUP_CASES } from "./cgroup-cases.ts";
import { CONFINEMENT_CASES } from "./confinement-cases.ts";
import { EGRESS_CASES } from "./egress-cases.ts";
import { FILE_CASES } from "./file-cases.ts";
import { NOTEBOOK_CASES } from "./notebook-cases.ts";
import { IO_CASES } from "./io-cases.ts";
import { LIMIT_CASES } from "./limit-cases.ts";
import { NAMESPACE_CASES } from "./namespace-cases.ts";
import { NETWORK_CASES } from "./network-cases.ts";
import { PROCESS_CASES } from "./process-cases.ts";
import { REACH_CASES } from "./reach-cases.ts";
import { hostileTests, layersTest, useTarget } from "./suite.ts";
import { SYSCALL_CASES } from "./syscall-cases.ts";
import { runtimeTarget } from "./target.ts";
import { SCREENSHOT_CASES } from "./screenshot-cases.ts";

// The same table against ISOLATION=bwrap (namespaces; the tests run as root, so bwrap works here): every row of
// proot-limits.test.ts and proot-escapes.test.ts, R11 killing bwrap instead of proot. Each row also checks the
// teardown (hostile.ts).

const target = useTarget(() => runtimeTarget("bwrap"));

layersTest(target);
hostileTests("resource limits under bwrap", "bwrap", [...LIMIT_CASES, ...CGROUP_CASES, ...IO_CASES], target);
hostileTests("processes under bwrap", "bwrap", PROCESS_CASES, target, { concurrency: 2 });
hostileTests("confinement under bwrap", "bwrap", [...REACH_CASES, ...CONFINEMENT_CASES, ...FILE_CASES, ...NOTEBOOK_CASES], target, { concurrency: 2 });
hostileTests("namespaces and egress under bwrap", "bwrap", [...NETWORK_CASES, ...EGRESS_CASES, ...NAMESPACE_CASES], target, { concurrency: 2 });
hostileTests("the syscall filter under bwrap", "bwrap", SYSCALL_CASES, target, { concurrency: 2 });
hostileTests("screenshots under bwrap", "bwrap", SCREENSHOT_CASES, target);
