/*
 * `--connect=PORT`: after every other step (the thread's network namespace, its uid, no_new_privs), connects to
 * 127.0.0.1:PORT (the sandbox's own loopback, never the host's: the namespace is the thread's) and relays stdin to
 * the connection and the connection to stdout. It writes one byte "+" on stdout once connected, so the runtime can
 * tell "nothing listens" (exit 111, a line on stderr, no output) from a connection that closes at once.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "helper.h"

#define CONNECT_FAILED 111

static int write_all(int fd, const char *buf, ssize_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, (size_t)len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= n;
  }
  return 0;
}

int relay_port(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fprintf(stderr, "seccomp-exec: socket: %s\n", strerror(errno)), CONNECT_FAILED;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    fprintf(stderr, "seccomp-exec: connect 127.0.0.1:%d: %s\n", port, strerror(errno));
    return CONNECT_FAILED;
  }
  if (write_all(1, "+", 1) != 0) return 0;
  struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = s, .events = POLLIN}};
  char buf[65536];
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[0].revents) {
      ssize_t n = read(0, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        /* The caller is done sending: half-close, and keep relaying the answer. */
        shutdown(s, SHUT_WR);
        fds[0].fd = -1;
      } else if (write_all(s, buf, n) != 0) {
        return 0;
      }
    }
    if (fds[1].revents) {
      ssize_t n = read(s, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || write_all(1, buf, n) != 0) return 0;
    }
  }
}
