import { CGROUP_CASES } from "./cgroup-cases.ts";
import { IO_CASES } from "./io-cases.ts";
import { LIMIT_CASES } from "./limit-cases.ts";
import { hostileTests, useTarget } from "./suite.ts";
import { runtimeTarget } from "./target.ts";

// SECURITY.md's resource rows against a real runtime with proot, one at a time (they exhaust what they can):
//   R1 fork loop · R2 bash fork bomb · R3 thread bomb · R4 bytearray(8 GiB) · R5 10 MB chunks forever
//   R6 while True · R7 ignoring SIGTERM/SIGXCPU · R8 sleep under a CPU limit · R13 endless print
//   R22 memory spread over four children · R23 a fork storm over eight sessions
//   R14 1 GB on both streams · R15 random bytes · R16 file-size limit · R17 10^6 files · R20 EMFILE · R21 recursion
// Each row also checks the teardown (hostile.ts): no process of the run, same server pid, a bystander thread's run.

const target = useTarget(() => runtimeTarget("proot"));
hostileTests("resource limits under proot", "proot", [...LIMIT_CASES, ...CGROUP_CASES, ...IO_CASES], target);
