import { CONFINEMENT_CASES } from "./confinement-cases.ts";
import { EGRESS_CASES } from "./egress-cases.ts";
import { FILE_CASES } from "./file-cases.ts";
import { NOTEBOOK_CASES } from "./notebook-cases.ts";
import { NAMESPACE_CASES } from "./namespace-cases.ts";
import { NETWORK_CASES } from "./network-cases.ts";
import { PROCESS_CASES } from "./process-cases.ts";
import { REACH_CASES } from "./reach-cases.ts";
import { hostileTests, layersTest, useTarget } from "./suite.ts";
import { SYSCALL_CASES } from "./syscall-cases.ts";
import { runtimeTarget } from "./target.ts";
import { SCREENSHOT_CASES } from "./screenshot-cases.ts";

// SECURITY.md's process and confinement rows against a real runtime with proot, two at a time:
//   R9 setsid child · R10 double-fork nohup daemon · R11 setsid child after proot is SIGKILLed · R12 2,000 orphans
//   X18 numpy BLAS threads · X18b npm install + node worker threads
//   R18 private /tmp, /dev/shm, /var/tmp · X1 host and other-thread reads · X2 io_uring · X3 openat2/fchmodat2/execveat
//   X4 /proc · X5 kill(-1) and the server · X6 ptrace · X7 loopback ports
//   X7n the same from a thread with network "none" · X12 hard links · X13 environment · X14 open fds
//   X16 setuid binary · X10 planted links via the file API · X11 dir/link swap during uploads
//   N1 links, a FIFO, a directory at a notebook path (run_jupyter) · N2 a cell swapping its notebook or its directory for a link
//   X19 System V IPC across runs and threads · X20/X20n egress to the host, loopback, link-local, private ranges
//   X30 the egress proxy of a thread with a network policy: loopback, metadata, private ranges, Host tricks, floods
//   X21 proot (the tracer) out of reach · X22a–m syscalls the filter denies
//   S1 links and FIFOs among the screenshot files · S2 a window title of shell syntax · S3 the frames' X clients
// Each row also checks the teardown (hostile.ts).

const target = useTarget(() => runtimeTarget("proot"));

layersTest(target);
hostileTests("processes under proot", "proot", PROCESS_CASES, target, { concurrency: 2 });
hostileTests("confinement under proot", "proot", [...REACH_CASES, ...CONFINEMENT_CASES, ...FILE_CASES, ...NOTEBOOK_CASES], target, { concurrency: 2 });
hostileTests("namespaces and egress under proot", "proot", [...NETWORK_CASES, ...EGRESS_CASES, ...NAMESPACE_CASES], target, { concurrency: 2 });
hostileTests("the syscall filter under proot", "proot", SYSCALL_CASES, target, { concurrency: 2 });
hostileTests("screenshots under proot", "proot", SCREENSHOT_CASES, target);
