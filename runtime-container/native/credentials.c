/*
 * Who the launched program is, and what it dies with.
 * A parent-death signal (SIGKILL) is set at start (the parent is the runtime) and again after every credential
 * change, which clears it. After setting it, the parent is checked: if it died just before, no signal will come.
 * Inside a new pid namespace the parent is outside and getppid() says 0, so the check reads a pipe whose write end
 * only the parent holds: EOF means it is gone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "helper.h"

static pid_t watched_pid;
static int watched_pipe = -1;

int set_parent_death_kill(void) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    fprintf(stderr, "seccomp-exec: PR_SET_PDEATHSIG: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

void watch_parent(pid_t pid, int pipe_read_end) {
  watched_pid = pid;
  watched_pipe = pipe_read_end;
}

int parent_alive(void) {
  if (watched_pipe < 0) return getppid() == watched_pid;
  struct pollfd p = {.fd = watched_pipe, .events = POLLIN};
  return poll(&p, 1, 0) == 0; /* nothing to read and no hang-up: the write end is still held */
}

int drop_to(uid_t uid, gid_t gid) {
  if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
    fprintf(stderr, "seccomp-exec: cannot become %u:%u: %s\n", (unsigned)uid, (unsigned)gid, strerror(errno));
    return -1;
  }
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid || getresgid(&rg, &eg, &sg) != 0 || rg != gid ||
      eg != gid || sg != gid || getgroups(0, NULL) != 0) {
    fprintf(stderr, "seccomp-exec: the uid/gid change did not take\n");
    return -1;
  }
  return 0;
}
