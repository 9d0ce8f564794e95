/* Shared declarations of the seccomp-exec helper (see seccomp-exec.c). */
#ifndef THREADBOX_HELPER_H
#define THREADBOX_HELPER_H

/* Applies one `--rlimit=NAME:SOFT:HARD` or `--umask=OCTAL` option; returns 0, or -1 with a message on stderr. */
int apply_option(const char *arg);

/* `--probe`: prints what this host (and the calling process) has, as one JSON line; returns the exit status. */
int probe(void);

/* `--kill-uid=UID`: becomes UID and sends SIGKILL to every process of it (kill(-1)); returns the exit status. */
int kill_uid(const char *arg);

#endif
