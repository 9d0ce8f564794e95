/*
 * Two jobs besides launching, so the runtime needs no other native code:
 *   --probe       reports, as one JSON line, what the start-up self-test asks about: the Landlock ABI (0: none),
 *                 what io_uring_setup, openat2, setns(-1) and process_vm_readv(self) answer here (EFAULT for a NULL
 *                 io_uring argument means "available"; under the filter they answer EPERM, ENOSYS, EPERM, EPERM),
 *                 this process's seccomp mode, no_new_privs, uid and gid, and its namespaces (inode numbers).
 *                 Run through the launcher itself (`seccomp-exec [OPTIONS] seccomp-exec --probe`) it proves what
 *                 the options did.
 *   --kill-uid=N  becomes uid N (never 0) and kills every process of it at once with kill(-1, SIGKILL): the kernel
 *                 walks the process list in one go, so a fork bomb cannot outrun it the way a /proc scan can.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "helper.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#define TB_LANDLOCK_CREATE_RULESET_VERSION 1u

static const char *errno_name(int e) {
  switch (e) {
    case 0: return "OK";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EBADF: return "EBADF";
    default: return "OTHER";
  }
}

static const char *answer(long nr, long a, long b, long c, long d) {
  errno = 0;
  long r = syscall(nr, a, b, c, d);
  return errno_name(r < 0 ? errno : 0);
}

static unsigned long ns_inode(const char *name) {
  char path[64];
  struct stat st;
  snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
  return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0ul;
}

/* Reads one byte of its own memory the way a debugger would: allowed unless the filter denies it. */
static const char *process_vm_self(void) {
  char src = 1, dst = 0;
  struct iovec local = {.iov_base = &dst, .iov_len = 1}, remote = {.iov_base = &src, .iov_len = 1};
  errno = 0;
  long r = syscall(__NR_process_vm_readv, getpid(), &local, 1, &remote, 1, 0);
  return errno_name(r < 0 ? errno : 0);
}

int probe(void) {
  errno = 0;
  long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, TB_LANDLOCK_CREATE_RULESET_VERSION);
  printf("{\"landlock_abi\":%ld,\"io_uring_setup\":\"%s\",\"openat2\":\"%s\",\"setns\":\"%s\",\"process_vm_readv\":\"%s\","
         "\"seccomp_mode\":%d,\"no_new_privs\":%d,\"uid\":%u,\"gid\":%u,"
         "\"ns\":{\"pid\":%lu,\"net\":%lu,\"ipc\":%lu,\"mnt\":%lu}}\n",
         abi > 0 ? abi : 0L, answer(__NR_io_uring_setup, 1, 0, 0, 0), answer(__NR_openat2, -100, 0, 0, 0),
         answer(__NR_setns, -1, 0, 0, 0), process_vm_self(), prctl(PR_GET_SECCOMP, 0, 0, 0, 0),
         prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), (unsigned)getuid(), (unsigned)getgid(), ns_inode("pid"), ns_inode("net"),
         ns_inode("ipc"), ns_inode("mnt"));
  return 0;
}

int kill_uid(const char *arg) {
  char *end = NULL;
  errno = 0;
  unsigned long uid = strtoul(arg, &end, 10);
  if (errno != 0 || end == arg || *end != '\0' || uid == 0 || uid >= 0xFFFFFFFFul) {
    fprintf(stderr, "seccomp-exec: bad uid %s\n", arg);
    return 2;
  }
  /* Drop groups and gid first (they need root), then the uid; check it really changed before kill(-1). */
  if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(uid, uid, uid) != 0) {
    fprintf(stderr, "seccomp-exec: cannot become uid %lu: %s\n", uid, strerror(errno));
    return 126;
  }
  uid_t r, e, s;
  if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid) return 126;
  if (kill(-1, SIGKILL) != 0 && errno != ESRCH) {
    fprintf(stderr, "seccomp-exec: kill: %s\n", strerror(errno));
    return 1;
  }
  return 0;
}
