/*
 * Where the launched program lives: its cgroups, the thread's network namespace, and (for proot, which makes none
 * of its own) new pid, mount and ipc namespaces; and `--hold-netns`, the process that keeps a thread's network
 * namespace alive.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "helper.h"

static int fail(const char *what, const char *arg) {
  fprintf(stderr, "seccomp-exec: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
  return -1;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)len ? 0 : -1;
}

int join_cgroup(const char *dir) {
  char path[4096], pid[32];
  if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path)) return fail("cgroup path too long", dir);
  snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
  return write_file(path, pid) == 0 ? 0 : fail("cannot join cgroup", dir);
}

int join_netns(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("cannot open network namespace", path);
  int r = setns(fd, CLONE_NEWNET);
  int saved = errno;
  close(fd);
  errno = saved;
  return r == 0 ? 0 : fail("cannot join network namespace", path);
}

int make_ipc_namespace(void) {
  return unshare(CLONE_NEWIPC) == 0 ? 0 : fail("unshare(CLONE_NEWIPC)", NULL);
}

/* The parent, outside the namespace: ignores the signals a timeout or cancel sends to the process group (they are
 * for the program, which then gets its grace), holds none of the run's pipes, waits, and exits as its child did. */
static void wait_and_exit(pid_t child, const sigset_t *old) {
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  sigprocmask(SIG_SETMASK, old, NULL);
  close(0);
  close(1);
  close(3);
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) _exit(126);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 126);
}

int enter_pid_namespace(void) {
  if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC) != 0) return fail("unshare(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWIPC)", NULL);
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) != 0) return fail("pipe", NULL);
  /* Blocked until each side has its dispositions: a TERM in between must neither kill the parent nor be lost. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP);
  sigprocmask(SIG_BLOCK, &block, &old);
  pid_t child = fork();
  if (child < 0) return fail("fork", NULL);
  if (child > 0) {
    close(alive[0]);
    wait_and_exit(child, &old);
  }
  close(alive[1]);
  sigprocmask(SIG_SETMASK, &old, NULL);
  /* The parent is outside: getppid() says 0 here, so its liveness is the pipe's write end it holds. */
  watch_parent(0, alive[0]);
  if (set_parent_death_kill() != 0 || !parent_alive()) {
    fprintf(stderr, "seccomp-exec: the launcher's parent is gone\n");
    return -1;
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return fail("making mounts private", NULL);
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) return fail("mounting /proc", NULL);
  return 0;
}

static unsigned long ns_inode(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0ul;
}

int hold_netns(void) {
  pid_t parent = getppid();
  if (set_parent_death_kill() != 0 || getppid() != parent) return 126;
  /* A user namespace owned by root, mapping only root: root in it may set up the network namespace it owns
   * (lo, the egress rules) even where the runtime lacks CAP_NET_ADMIN; the sandbox, never in it, has no
   * capability over that network namespace. */
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
    fail("unshare(CLONE_NEWUSER|CLONE_NEWNET)", NULL);
    return 126;
  }
  if (write_file("/proc/self/setgroups", "deny") != 0 || write_file("/proc/self/uid_map", "0 0 1\n") != 0 ||
      write_file("/proc/self/gid_map", "0 0 1\n") != 0) {
    fail("writing the user namespace's maps", NULL);
    return 126;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strcpy(ifr.ifr_name, "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0 || (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr)) != 0) {
    fail("bringing lo up", NULL);
    return 126;
  }
  close(s);
  /* The runtime opens /proc/<pid>/ns/net and .../user and checks these numbers, so a reused pid can never hand it another's. */
  printf("ready %lu %lu\n", ns_inode("/proc/self/ns/net"), ns_inode("/proc/self/ns/user"));
  fflush(stdout);
  char buf[64];
  for (;;) {
    ssize_t n = read(0, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EINTR)) return 0;
  }
}
