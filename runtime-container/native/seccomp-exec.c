/*
 * seccomp-exec: apply threadbox's syscall filter, then exec the sandbox.
 *
 * Usage: seccomp-exec [--rlimit=NAME:SOFT:HARD]... [--umask=OCTAL] [--] PROGRAM [ARGS...]
 *        seccomp-exec --probe | --kill-uid=UID     (see probe.c)
 *
 * Runs in front of proot (or bwrap), so the filter covers proot and every process it traces.
 * It does these things, in this order:
 *   0. applies the run's resource limits and umask (options.c);
 *   1. closes every inherited file descriptor above 3 (fd 3 is the runner's status pipe, see launcher.ts);
 *   2. asks for SIGKILL when the runtime dies (PR_SET_PDEATHSIG, kept across exec): unshare then takes its pid
 *      namespace down with it, so a killed runtime leaves no sandboxed program running untimed;
 *   3. sets no_new_privs (a setuid binary gains nothing, and seccomp needs it unprivileged);
 *   4. installs a BPF filter that answers:
 *      - ENOSYS for syscalls proot 5.1 does not translate but libc has a fallback for
 *        (statx, faccessat2, clone3, openat2, fchmodat2, execveat): the program keeps working
 *        through the older, translated call instead of touching host paths;
 *      - EPERM for io_uring (its OPENAT opcode bypasses ptrace entirely), handle-based opens,
 *        the new mount API, and every x32 syscall.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "helper.h"

#if defined(__x86_64__)
#define TB_AUDIT_ARCH AUDIT_ARCH_X86_64
#define TB_X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define TB_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp-exec supports x86_64 and aarch64"
#endif

/* Numbers shared by all architectures since Linux 5.1; older headers may lack the names. */
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif
#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#ifndef __NR_fsopen
#define __NR_fsopen 430
#endif
#ifndef __NR_fsconfig
#define __NR_fsconfig 431
#endif
#ifndef __NR_fsmount
#define __NR_fsmount 432
#endif
#ifndef __NR_fspick
#define __NR_fspick 433
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_faccessat2
#define __NR_faccessat2 439
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

#define DENY(nr, err) \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((err) & SECCOMP_RET_DATA))

static struct sock_filter filter[] = {
  BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TB_AUDIT_ARCH, 1, 0),
  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef TB_X32_BIT
  BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, TB_X32_BIT, 0, 1),
  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
  DENY(__NR_statx, ENOSYS),
  DENY(__NR_faccessat2, ENOSYS),
  DENY(__NR_clone3, ENOSYS),
  DENY(__NR_openat2, ENOSYS),
  DENY(__NR_fchmodat2, ENOSYS),
  DENY(__NR_execveat, ENOSYS),
  DENY(__NR_io_uring_setup, EPERM),
  DENY(__NR_io_uring_enter, EPERM),
  DENY(__NR_io_uring_register, EPERM),
  DENY(__NR_name_to_handle_at, EPERM),
  DENY(__NR_open_by_handle_at, EPERM),
  DENY(__NR_open_tree, EPERM),
  DENY(__NR_move_mount, EPERM),
  DENY(__NR_fsopen, EPERM),
  DENY(__NR_fsconfig, EPERM),
  DENY(__NR_fsmount, EPERM),
  DENY(__NR_fspick, EPERM),
  DENY(__NR_mount_setattr, EPERM),
  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static void close_inherited_fds(void) {
  if (syscall(__NR_close_range, 4u, ~0u, 0u) == 0) return;
  long max = sysconf(_SC_OPEN_MAX);
  for (long fd = 4; fd < (max > 0 ? max : 1024); fd++) close((int)fd);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--probe") == 0) return probe();
  if (argc == 2 && strncmp(argv[1], "--kill-uid=", 11) == 0) return kill_uid(argv[1] + 11);
  int first = 1;
  for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
    if (strcmp(argv[first], "--") == 0) {
      first++;
      break;
    }
    if (apply_option(argv[first]) != 0) return 126;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: seccomp-exec [--rlimit=NAME:SOFT:HARD]... [--umask=OCTAL] [--] PROGRAM [ARGS...]\n");
    return 2;
  }
  close_inherited_fds();
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent) {
    fprintf(stderr, "seccomp-exec: the runtime is gone (or PR_SET_PDEATHSIG failed)\n");
    return 126;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "seccomp-exec: no_new_privs: %s\n", strerror(errno));
    return 126;
  }
  struct sock_fprog prog = {
    .len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
    .filter = filter,
  };
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    fprintf(stderr, "seccomp-exec: seccomp filter: %s\n", strerror(errno));
    return 126;
  }
  execvp(argv[first], argv + first);
  fprintf(stderr, "seccomp-exec: %s: %s\n", argv[first], strerror(errno));
  return 127;
}
