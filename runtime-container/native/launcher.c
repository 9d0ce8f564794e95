/*
 * seccomp-exec: the native launcher in front of every sandbox (proot or bwrap), run by the runtime as root.
 *
 * Usage: seccomp-exec [OPTIONS] [--] PROGRAM [ARGS...]     (options: see options.c)
 *        seccomp-exec --probe | --kill-uid=UID              (see probe.c)
 *        seccomp-exec --hold-netns                          (see namespaces.c)
 *        seccomp-exec [--netns=PATH] [--uid=N --gid=N] --connect=PORT   (see relay.c)
 *
 * It does these things, in this order, and execs PROGRAM (failures exit 126, a missing program 127):
 *   1. the run's resource limits and umask;
 *   2. closes every inherited file descriptor above 3 (fd 3 is the runner's status pipe, see launcher.ts);
 *   3. SIGKILL when the runtime dies (PR_SET_PDEATHSIG), then checks the runtime is still its parent;
 *   4. joins the given cgroups;
 *   5. joins the thread's network namespace (`--netns`);
 *   6. `--pidns` (proot): new pid, mount and ipc namespaces and a fork. The parent stays outside: it ignores
 *      TERM/INT/HUP (a timeout's TERM is for the program, which then gets its grace), waits, and exits with the
 *      child's status (128+N for signal N). The child, pid 1 inside, dies with it (SIGKILL of the parent takes the
 *      namespace down), makes its mounts private, mounts a fresh /proc and goes on. `--ipcns`: only the ipc namespace;
 *   7. becomes `--uid`/`--gid` with no groups, sets the parent-death signal again (the change clears it) and checks;
 *   8. no_new_privs (a setuid binary gains nothing; seccomp needs it unprivileged);
 *   9. the filter (filter.c): installed for proot; for bwrap written to a memfd whose number replaces the argument
 *      `@SECCOMP_FD@` (for `bwrap --seccomp FD`: bwrap needs unshare and mount itself, its child gets the filter).
 *  10. `--preload`: LD_PRELOAD for the exec'd program only (set here, so the launcher itself never loads it).
 * Namespaces come before the filter because the filter denies making them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "helper.h"

#define SECCOMP_FD_ARG "@SECCOMP_FD@"

static void close_inherited_fds(int first) {
  if (syscall(SYS_close_range, (unsigned)first, ~0u, 0u) == 0) return;
  long max = sysconf(_SC_OPEN_MAX);
  for (long fd = first; fd < (max > 0 ? max : 1024); fd++) close((int)fd);
}

/* Puts the filter's fd number where bwrap expects it; exactly one placeholder, or the launch fails. */
static int substitute_filter_fd(char **argv, int fd) {
  static char number[16];
  snprintf(number, sizeof(number), "%d", fd);
  int found = 0;
  for (char **a = argv; *a; a++) {
    if (strcmp(*a, SECCOMP_FD_ARG) != 0) continue;
    *a = number;
    found++;
  }
  if (found == 1) return 0;
  fprintf(stderr, "seccomp-exec: --filter=bwrap needs exactly one %s argument (found %d)\n", SECCOMP_FD_ARG, found);
  return -1;
}

static int launch(struct launch *l) {
  if (apply_limits(l) != 0) return -1;
  close_inherited_fds(4);
  watch_parent(getppid(), -1);
  if (set_parent_death_kill() != 0) return -1;
  if (!parent_alive()) {
    fprintf(stderr, "seccomp-exec: the runtime is gone\n");
    return -1;
  }
  for (int i = 0; i < l->n_cgroups; i++) {
    if (join_cgroup(l->cgroups[i]) != 0) return -1;
  }
  if (l->netns && join_netns(l->netns) != 0) return -1;
  if (l->pidns && enter_pid_namespace() != 0) return -1;
  if (l->ipcns && make_ipc_namespace() != 0) return -1;
  if (l->has_uid) {
    if (drop_to(l->uid, l->gid) != 0 || set_parent_death_kill() != 0) return -1;
    if (!parent_alive()) {
      fprintf(stderr, "seccomp-exec: the launcher's parent is gone\n");
      return -1;
    }
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "seccomp-exec: no_new_privs: %s\n", strerror(errno));
    return -1;
  }
  if (l->filter == FILTER_PROOT && install_filter(FILTER_PROOT) != 0) return -1;
  if (l->filter == FILTER_BWRAP) {
    int fd = filter_memfd(FILTER_BWRAP);
    if (fd < 0 || substitute_filter_fd(l->argv, fd) != 0) return -1;
  }
  if (l->preload && setenv("LD_PRELOAD", l->preload, 1) != 0) return -1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--probe") == 0) return probe();
  if (argc == 2 && strncmp(argv[1], "--kill-uid=", 11) == 0) return kill_uid(argv[1] + 11);
  if (argc == 2 && strcmp(argv[1], "--hold-netns") == 0) {
    close_inherited_fds(3);
    return hold_netns();
  }
  struct launch l;
  if (parse_options(argc, argv, &l) != 0) return 126;
  if (launch(&l) != 0) return 126;
  if (l.connect_port) return relay_port(l.connect_port);
  execvp(l.argv[0], l.argv);
  fprintf(stderr, "seccomp-exec: %s: %s\n", l.argv[0], strerror(errno));
  return 127;
}
