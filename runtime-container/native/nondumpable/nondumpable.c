/*
 * nondumpable.so: loaded into proot (the launcher's `--preload`), it makes proot unreachable from the
 * programs it traces, which run as the same uid in the same pid namespace (proot is pid 1 there):
 *   - proot marks itself non-dumpable: /proc/<proot>/mem, fd/, environ, root, ptrace attach, process_vm_* and
 *     pidfd_getfd on it then need CAP_SYS_PTRACE, which no sandboxed program has; without this a program could
 *     rewrite proot's memory and leave its path translation;
 *   - the child proot forks to become its first tracee marks itself dumpable again before it execs: the state is
 *     inherited by fork, and proot must read that child's memory (the execve arguments) while it is still a copy
 *     of proot's. Every later tracee descends from it. (An execute-only copy of proot would make proot
 *     non-dumpable too, but with no way to undo it in that child: proot then fails on its first execve.)
 *   - LD_PRELOAD is removed again, so no traced program inherits it.
 * The display server (Xvfb, which parses what the sandbox sends it) is started with it too: the thread's programs,
 * same uid, cannot read or write its memory either.
 * Built by scripts/setup.sh into .build/ beside the launcher (not part of it: it must be a shared object).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>

static void child_dumpable(void) {
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

__attribute__((constructor)) static void nondumpable(void) {
  unsetenv("LD_PRELOAD");
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  pthread_atfork(NULL, NULL, child_dumpable);
}
