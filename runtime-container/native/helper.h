/* Shared declarations of the native launcher `seccomp-exec` (see launcher.c for the order of its steps). */
#ifndef THREADBOX_HELPER_H
#define THREADBOX_HELPER_H

#include <stddef.h>
#include <sys/types.h>

#define MAX_RLIMITS 16
#define MAX_CGROUPS 16

enum filter_kind { FILTER_NONE, FILTER_PROOT, FILTER_BWRAP };

/* Everything the command line asks for; options.c fills it, launcher.c applies it in order. */
struct launch {
  const char *rlimits[MAX_RLIMITS];
  int n_rlimits;
  int has_umask;
  mode_t umask;
  const char *cgroups[MAX_CGROUPS];
  int n_cgroups;
  const char *netns;
  int pidns; /* new pid + mount + ipc namespaces, with a waiting parent outside */
  int ipcns; /* a new ipc namespace only (no fork) */
  int has_uid, has_gid;
  uid_t uid;
  gid_t gid;
  enum filter_kind filter;
  const char *preload; /* LD_PRELOAD for the program only */
  int connect_port; /* `--connect=PORT`: relay stdio to 127.0.0.1:PORT instead of exec'ing a program (relay.c) */
  char **argv; /* the program and its arguments, NULL-terminated */
};

/* options.c: parses argv into *out; returns 0, or -1 with a message on stderr. */
int parse_options(int argc, char **argv, struct launch *out);
/* options.c: applies the `--rlimit` options and the umask; returns 0 or -1 (message on stderr). */
int apply_limits(const struct launch *l);

/* credentials.c: a parent-death signal, and whether the parent that should send it is still there. */
int set_parent_death_kill(void);
/* Remembers the parent to check (its pid, or a pipe whose write end it holds when it is outside our pid namespace). */
void watch_parent(pid_t pid, int pipe_read_end);
int parent_alive(void);
/* credentials.c: setgroups(0), setresgid, setresuid, then checks they took; returns 0 or -1. */
int drop_to(uid_t uid, gid_t gid);

/* namespaces.c */
int join_cgroup(const char *dir);
int join_netns(const char *path);
int make_ipc_namespace(void);
/* Makes the pid, mount and ipc namespaces and forks: returns 0 in the child (pid 1, with a fresh /proc); the parent
 * never returns (it waits and exits with the child's status). -1 on failure. */
int enter_pid_namespace(void);
/* `--hold-netns`: a new user and network namespace with lo up, held until stdin closes; returns the exit status. */
int hold_netns(void);

/* filter.c: builds the BPF program for `kind`; installs it (proot) or writes it to a memfd and returns the fd (bwrap). */
int install_filter(enum filter_kind kind);
int filter_memfd(enum filter_kind kind);

/* relay.c: connects to 127.0.0.1:port and relays stdio; returns the exit status. */
int relay_port(int port);

/* probe.c */
int probe(void);
int kill_uid(const char *arg);

#endif
