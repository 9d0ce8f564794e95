/*
 * The syscall filter. Two variants from one table:
 *   proot: installed by the launcher itself, so it covers proot and every process it traces. It answers ENOSYS for
 *          syscalls proot 5.1 does not translate but libc has a fallback for (statx, faccessat2, openat2, fchmodat2,
 *          execveat): the program keeps working through the older, translated call instead of touching host paths.
 *   bwrap: written to a memfd for `bwrap --seccomp FD` (bwrap itself needs unshare and mount; its child, the
 *          sandbox, gets the filter). No ENOSYS list: nothing translates paths there.
 * Both answer ENOSYS for clone3 (its flags are in a struct a filter cannot read; libc falls back to clone) and EPERM
 * for what no sandboxed program needs: io_uring (its OPENAT opcode bypasses ptrace), handle-based opens, every mount
 * call, namespaces (unshare/clone with a CLONE_NEW* flag, setns), another process's memory or descriptors
 * (pidfd_getfd, ptrace ATTACH/SEIZE: proot itself uses TRACEME; process_vm_readv/writev under bwrap only),
 * userfaultfd, the key store, personality changes (the query and PER_LINUX stay), perf_event_open, bpf, kernel
 * administration, and every x32 syscall. Any other architecture than the launcher's own is killed.
 * Under proot, ptrace never reaches the kernel from a traced program: proot answers it itself, among its own
 * tracees (it stops the call before this filter sees it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
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
#define TB_NR_io_uring_setup 425
#define TB_NR_io_uring_enter 426
#define TB_NR_io_uring_register 427
#define TB_NR_open_tree 428
#define TB_NR_move_mount 429
#define TB_NR_fsopen 430
#define TB_NR_fsconfig 431
#define TB_NR_fsmount 432
#define TB_NR_fspick 433
#define TB_NR_clone3 435
#define TB_NR_openat2 437
#define TB_NR_pidfd_getfd 438
#define TB_NR_faccessat2 439
#define TB_NR_mount_setattr 442
#define TB_NR_quotactl_fd 443
#define TB_NR_fchmodat2 452
#define TB_NR_open_tree_attr 467

#define TB_PTRACE_ATTACH 16u
#define TB_PTRACE_SEIZE 0x4206u
/* CLONE_NEWTIME (0x80) is only meaningful to unshare: in clone's flags those bits are the exit signal. */
#define TB_CLONE_NEW (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)
#define TB_UNSHARE_NEW (TB_CLONE_NEW | 0x80u)

struct deny {
  long nr;
  int err;
};

/* Only under proot: calls it does not translate, with a libc fallback that it does. */
static const struct deny PROOT_ONLY[] = {
  {__NR_statx, ENOSYS}, {__NR_faccessat2, ENOSYS}, {TB_NR_openat2, ENOSYS}, {TB_NR_fchmodat2, ENOSYS}, {__NR_execveat, ENOSYS},
};

/* Only under bwrap: proot reads and writes its tracees' memory with these (the filter covers proot too); denied, it
 * falls back to PTRACE_PEEKDATA word by word and path-heavy programs run about a third slower. Under proot they
 * cannot reach anything outside the run anyway: proot is non-dumpable (nondumpable/), and the pid namespace
 * hides every other process of the uid (the thread's display server included). */
static const struct deny BWRAP_ONLY[] = {
  {__NR_process_vm_readv, EPERM}, {__NR_process_vm_writev, EPERM},
};

static const struct deny BOTH[] = {
  {TB_NR_clone3, ENOSYS},
  {TB_NR_io_uring_setup, EPERM}, {TB_NR_io_uring_enter, EPERM}, {TB_NR_io_uring_register, EPERM},
  {__NR_name_to_handle_at, EPERM}, {__NR_open_by_handle_at, EPERM},
  {__NR_mount, EPERM}, {__NR_umount2, EPERM}, {__NR_pivot_root, EPERM}, {TB_NR_open_tree, EPERM}, {TB_NR_open_tree_attr, EPERM},
  {TB_NR_move_mount, EPERM}, {TB_NR_fsopen, EPERM}, {TB_NR_fsconfig, EPERM}, {TB_NR_fsmount, EPERM}, {TB_NR_fspick, EPERM},
  {TB_NR_mount_setattr, EPERM},
  {__NR_setns, EPERM},
  {TB_NR_pidfd_getfd, EPERM},
  {__NR_userfaultfd, EPERM},
  {__NR_keyctl, EPERM}, {__NR_add_key, EPERM}, {__NR_request_key, EPERM},
  {__NR_perf_event_open, EPERM}, {__NR_bpf, EPERM},
  {__NR_kexec_load, EPERM}, {__NR_kexec_file_load, EPERM},
  {__NR_init_module, EPERM}, {__NR_finit_module, EPERM}, {__NR_delete_module, EPERM},
#ifdef __NR_iopl
  {__NR_iopl, EPERM},
#endif
#ifdef __NR_ioperm
  {__NR_ioperm, EPERM},
#endif
  {__NR_swapon, EPERM}, {__NR_swapoff, EPERM}, {__NR_reboot, EPERM}, {__NR_acct, EPERM},
  {__NR_quotactl, EPERM}, {TB_NR_quotactl_fd, EPERM},
};

#define MAX_INSNS 256
struct program {
  struct sock_filter insns[MAX_INSNS];
  unsigned short len;
};

static void emit(struct program *p, struct sock_filter insn) {
  if (p->len < MAX_INSNS) p->insns[p->len] = insn;
  p->len++; /* an overflow is caught by build() */
}

static void stmt(struct program *p, unsigned short code, unsigned int k) { emit(p, (struct sock_filter)BPF_STMT(code, k)); }
static void jump(struct program *p, unsigned short code, unsigned int k, unsigned char jt, unsigned char jf) {
  emit(p, (struct sock_filter)BPF_JUMP(code, k, jt, jf));
}

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define LOAD_ARG0_LOW (offsetof(struct seccomp_data, args[0]) + (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 0 : 4))

static void deny_all(struct program *p, const struct deny *list, size_t n) {
  for (size_t i = 0; i < n; i++) {
    jump(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)list[i].nr, 0, 1);
    stmt(p, BPF_RET | BPF_K, RET_ERRNO(list[i].err));
  }
}

/* EPERM when the syscall's first argument has any bit of `mask` (unshare's and clone's flags). The blocks below
 * each end in a return, so a syscall that does not match skips the block with the number still loaded. */
static void deny_flags(struct program *p, long nr, unsigned int mask) {
  jump(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 4);
  stmt(p, BPF_LD | BPF_W | BPF_ABS, LOAD_ARG0_LOW);
  jump(p, BPF_JMP | BPF_JSET | BPF_K, mask, 0, 1);
  stmt(p, BPF_RET | BPF_K, RET_ERRNO(EPERM));
  stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
}

/* EPERM when the first argument is `a` or `b` (ptrace's request). */
static void deny_arg(struct program *p, long nr, unsigned int a, unsigned int b) {
  jump(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 5);
  stmt(p, BPF_LD | BPF_W | BPF_ABS, LOAD_ARG0_LOW);
  jump(p, BPF_JMP | BPF_JEQ | BPF_K, a, 2, 0);
  jump(p, BPF_JMP | BPF_JEQ | BPF_K, b, 1, 0);
  stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  stmt(p, BPF_RET | BPF_K, RET_ERRNO(EPERM));
}

/* EPERM unless the first argument is `a` or `b` (personality: only the query 0xffffffff and PER_LINUX). */
static void allow_arg(struct program *p, long nr, unsigned int a, unsigned int b) {
  jump(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 5);
  stmt(p, BPF_LD | BPF_W | BPF_ABS, LOAD_ARG0_LOW);
  jump(p, BPF_JMP | BPF_JEQ | BPF_K, a, 2, 0);
  jump(p, BPF_JMP | BPF_JEQ | BPF_K, b, 1, 0);
  stmt(p, BPF_RET | BPF_K, RET_ERRNO(EPERM));
  stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
}

static int build(struct program *p, enum filter_kind kind) {
  memset(p, 0, sizeof(*p));
  stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  jump(p, BPF_JMP | BPF_JEQ | BPF_K, TB_AUDIT_ARCH, 1, 0);
  stmt(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#ifdef TB_X32_BIT
  jump(p, BPF_JMP | BPF_JGE | BPF_K, TB_X32_BIT, 0, 1);
  stmt(p, BPF_RET | BPF_K, RET_ERRNO(EPERM));
#endif
  if (kind == FILTER_PROOT) deny_all(p, PROOT_ONLY, sizeof(PROOT_ONLY) / sizeof(PROOT_ONLY[0]));
  if (kind == FILTER_BWRAP) deny_all(p, BWRAP_ONLY, sizeof(BWRAP_ONLY) / sizeof(BWRAP_ONLY[0]));
  deny_all(p, BOTH, sizeof(BOTH) / sizeof(BOTH[0]));
  deny_flags(p, __NR_unshare, TB_UNSHARE_NEW);
  deny_flags(p, __NR_clone, TB_CLONE_NEW);
  deny_arg(p, __NR_ptrace, TB_PTRACE_ATTACH, TB_PTRACE_SEIZE);
  allow_arg(p, __NR_personality, 0xffffffffu, 0u);
  stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  if (p->len > MAX_INSNS) {
    fprintf(stderr, "seccomp-exec: filter too long\n");
    return -1;
  }
  return 0;
}

int install_filter(enum filter_kind kind) {
  static struct program p;
  if (build(&p, kind) != 0) return -1;
  struct sock_fprog prog = {.len = p.len, .filter = p.insns};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    fprintf(stderr, "seccomp-exec: seccomp filter: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

int filter_memfd(enum filter_kind kind) {
  static struct program p;
  if (build(&p, kind) != 0) return -1;
  /* Not close-on-exec: bwrap reads it after the exec. */
  int fd = memfd_create("threadbox-seccomp", 0);
  size_t size = p.len * sizeof(struct sock_filter);
  if (fd < 0 || write(fd, p.insns, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
    fprintf(stderr, "seccomp-exec: filter memfd: %s\n", strerror(errno));
    return -1;
  }
  return fd;
}
