/*
 * The launcher's command line (see launcher.c for what each step does and in which order):
 *   --rlimit=NAME:SOFT:HARD   NAME is cpu, as, nproc, nofile, fsize, core or stack; a value is a number or "inf"
 *   --umask=OCTAL             e.g. 002, so a tenant's shared package cache stays group-writable
 *   --cgroup=DIR              join this cgroup (writes the pid to DIR/cgroup.procs); repeatable
 *   --netns=PATH              join this network namespace (a /proc/<pid>/ns/net or an fd of the runtime's)
 *   --pidns                   new pid, mount and ipc namespaces (a waiting parent outside, a fresh /proc inside)
 *   --ipcns                   a new ipc namespace only
 *   --uid=N --gid=N           become them (never 0), with no supplementary groups
 *   --filter=proot|bwrap      install the proot filter, or hand bwrap its filter as the fd in `@SECCOMP_FD@`
 *   --preload=PATH            LD_PRELOAD for the program only (nondumpable.so for proot; see nondumpable/)
 *   --connect=PORT            no program: relay stdio to 127.0.0.1:PORT (1-65535) once every step is done (relay.c)
 * Options are parsed in full before anything is applied, so a bad one changes nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "helper.h"

struct limit_name {
  const char *name;
  int resource;
};

static const struct limit_name LIMITS[] = {
  {"cpu", RLIMIT_CPU},     {"as", RLIMIT_AS},       {"nproc", RLIMIT_NPROC}, {"nofile", RLIMIT_NOFILE},
  {"fsize", RLIMIT_FSIZE}, {"core", RLIMIT_CORE},   {"stack", RLIMIT_STACK},
};

static int parse_value(const char *s, rlim_t *out) {
  if (strcmp(s, "inf") == 0) {
    *out = RLIM_INFINITY;
    return 0;
  }
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-') return -1;
  *out = (rlim_t)v;
  return 0;
}

/* Parses NAME:SOFT:HARD; returns the resource, or -1. */
static int parse_rlimit(const char *spec, struct rlimit *rl) {
  char buf[128];
  if (strlen(spec) >= sizeof(buf)) return -1;
  strcpy(buf, spec);
  char *soft = strchr(buf, ':');
  if (!soft) return -1;
  *soft++ = '\0';
  char *hard = strchr(soft, ':');
  if (!hard) return -1;
  *hard++ = '\0';
  for (size_t i = 0; i < sizeof(LIMITS) / sizeof(LIMITS[0]); i++) {
    if (strcmp(LIMITS[i].name, buf) != 0) continue;
    if (parse_value(soft, &rl->rlim_cur) != 0 || parse_value(hard, &rl->rlim_max) != 0 || rl->rlim_cur > rl->rlim_max) return -1;
    return LIMITS[i].resource;
  }
  return -1;
}

/* A uid or gid other than 0 (the launcher never makes a sandbox root) and (uid_t)-1. */
static int parse_id(const char *s, unsigned long *out) {
  char *end = NULL;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v == 0 || v >= 0xFFFFFFFFul) return -1;
  *out = v;
  return 0;
}

static int bad(const char *arg, const char *want) {
  fprintf(stderr, "seccomp-exec: bad option %s%s%s\n", arg, want ? " " : "", want ? want : "");
  return -1;
}

static int parse_one(const char *arg, struct launch *l) {
  unsigned long id;
  struct rlimit rl;
  if (strncmp(arg, "--rlimit=", 9) == 0) {
    if (parse_rlimit(arg + 9, &rl) < 0 || l->n_rlimits >= MAX_RLIMITS) return bad(arg, "(want --rlimit=NAME:SOFT:HARD)");
    l->rlimits[l->n_rlimits++] = arg + 9;
  } else if (strncmp(arg, "--umask=", 8) == 0) {
    char *end = NULL;
    long mask = strtol(arg + 8, &end, 8);
    if (end == arg + 8 || *end != '\0' || mask < 0 || mask > 0777) return bad(arg, "(want --umask=OCTAL)");
    l->has_umask = 1;
    l->umask = (mode_t)mask;
  } else if (strncmp(arg, "--cgroup=", 9) == 0) {
    if (arg[9] != '/' || l->n_cgroups >= MAX_CGROUPS) return bad(arg, "(want --cgroup=/ABSOLUTE/DIR)");
    l->cgroups[l->n_cgroups++] = arg + 9;
  } else if (strncmp(arg, "--netns=", 8) == 0) {
    if (arg[8] != '/' || l->netns) return bad(arg, "(want one --netns=/ABSOLUTE/PATH)");
    l->netns = arg + 8;
  } else if (strcmp(arg, "--pidns") == 0) {
    l->pidns = 1;
  } else if (strcmp(arg, "--ipcns") == 0) {
    l->ipcns = 1;
  } else if (strncmp(arg, "--uid=", 6) == 0) {
    if (parse_id(arg + 6, &id) != 0) return bad(arg, "(want --uid=N, N > 0)");
    l->has_uid = 1;
    l->uid = (uid_t)id;
  } else if (strncmp(arg, "--gid=", 6) == 0) {
    if (parse_id(arg + 6, &id) != 0) return bad(arg, "(want --gid=N, N > 0)");
    l->has_gid = 1;
    l->gid = (gid_t)id;
  } else if (strncmp(arg, "--preload=", 10) == 0) {
    if (arg[10] != '/' || l->preload) return bad(arg, "(want one --preload=/ABSOLUTE/PATH.so)");
    l->preload = arg + 10;
  } else if (strncmp(arg, "--connect=", 10) == 0) {
    char *end = NULL;
    long port = strtol(arg + 10, &end, 10);
    if (end == arg + 10 || *end != '\0' || port < 1 || port > 65535 || l->connect_port) return bad(arg, "(want one --connect=PORT, 1-65535)");
    l->connect_port = (int)port;
  } else if (strcmp(arg, "--filter=proot") == 0) {
    l->filter = FILTER_PROOT;
  } else if (strcmp(arg, "--filter=bwrap") == 0) {
    l->filter = FILTER_BWRAP;
  } else {
    fprintf(stderr, "seccomp-exec: unknown option %s\n", arg);
    return -1;
  }
  return 0;
}

int parse_options(int argc, char **argv, struct launch *l) {
  memset(l, 0, sizeof(*l));
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (parse_one(argv[i], l) != 0) return -1;
  }
  if (l->connect_port) {
    if (i < argc || l->filter != FILTER_NONE || l->pidns || l->ipcns || l->preload) return bad("--connect", "(takes no program, filter, namespaces or preload)");
    l->argv = argv + argc;
    return l->has_uid != l->has_gid ? bad("--uid/--gid", "(give both or neither)") : 0;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: seccomp-exec [--rlimit=NAME:SOFT:HARD]... [--umask=OCTAL] [--cgroup=DIR]... [--netns=PATH]\n"
                    "         [--pidns|--ipcns] [--uid=N --gid=N] [--filter=proot|bwrap] [--preload=PATH] [--] PROGRAM [ARGS...]\n"
                    "       seccomp-exec [--netns=PATH] [--uid=N --gid=N] --connect=PORT\n"
                    "       seccomp-exec --probe | --kill-uid=UID | --hold-netns\n");
    return -1;
  }
  if (l->has_uid != l->has_gid) return bad("--uid/--gid", "(give both or neither)");
  if (l->pidns && l->ipcns) return bad("--ipcns", "(--pidns makes an ipc namespace already)");
  l->argv = argv + i;
  return 0;
}

int apply_limits(const struct launch *l) {
  for (int i = 0; i < l->n_rlimits; i++) {
    struct rlimit rl;
    int resource = parse_rlimit(l->rlimits[i], &rl);
    if (resource < 0 || setrlimit(resource, &rl) != 0) {
      fprintf(stderr, "seccomp-exec: setrlimit %s: %s\n", l->rlimits[i], strerror(errno));
      return -1;
    }
  }
  if (l->has_umask) umask(l->umask);
  return 0;
}
