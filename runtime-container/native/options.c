/*
 * Options of seccomp-exec, applied before the sandbox starts (so they cover proot and everything it runs):
 *   --rlimit=NAME:SOFT:HARD   NAME is cpu, as, nproc, nofile, fsize, core or stack; a value is a number or "inf"
 *   --umask=OCTAL             e.g. 002, so a tenant's shared package cache stays group-writable
 * The runtime runs this as root, so a hard limit may be raised as well as lowered; the sandbox, running as an
 * unprivileged uid after setpriv, can only lower them.
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

static int apply_rlimit(const char *spec) {
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
    struct rlimit rl;
    if (parse_value(soft, &rl.rlim_cur) != 0 || parse_value(hard, &rl.rlim_max) != 0 || rl.rlim_cur > rl.rlim_max) return -1;
    if (setrlimit(LIMITS[i].resource, &rl) != 0) {
      fprintf(stderr, "seccomp-exec: setrlimit %s: %s\n", buf, strerror(errno));
      return -2;
    }
    return 0;
  }
  return -1;
}

int apply_option(const char *arg) {
  if (strncmp(arg, "--rlimit=", 9) == 0) {
    int r = apply_rlimit(arg + 9);
    if (r == -1) fprintf(stderr, "seccomp-exec: bad option %s (want --rlimit=NAME:SOFT:HARD)\n", arg);
    return r == 0 ? 0 : -1;
  }
  if (strncmp(arg, "--umask=", 8) == 0) {
    char *end = NULL;
    long mask = strtol(arg + 8, &end, 8);
    if (end == arg + 8 || *end != '\0' || mask < 0 || mask > 0777) {
      fprintf(stderr, "seccomp-exec: bad option %s (want --umask=OCTAL)\n", arg);
      return -1;
    }
    umask((mode_t)mask);
    return 0;
  }
  fprintf(stderr, "seccomp-exec: unknown option %s\n", arg);
  return -1;
}
