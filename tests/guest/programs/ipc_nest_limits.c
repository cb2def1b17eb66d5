/* Limits against hostile nesting, as Linux has them: nested epolls stop
 * at EP_MAX_NESTS (ELOOP), built top-down or as a lattice, and cycles are
 * refused; a long chain of unix sockets carried in each other's queues
 * (SCM_RIGHTS) is closed without trouble; fds in flight are limited per
 * user by RLIMIT_NOFILE (ETOOMANYREFS). Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int add(int ep, int fd) {
  struct epoll_event ev = { .events = EPOLLIN };
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

static int send_fd(int s, int fd) {
  char c = 'x';
  struct iovec iov = { &c, 1 };
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  struct cmsghdr *c1 = CMSG_FIRSTHDR(&m);
  c1->cmsg_level = SOL_SOCKET;
  c1->cmsg_type = SCM_RIGHTS;
  c1->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c1), &fd, sizeof fd);
  return sendmsg(s, &m, 0) < 0 ? -errno : 0;
}

int main(void) {
  /* A chain built top-down: each new epoll goes below the last. */
  int cur = epoll_create1(0), i, r = 0;
  for (i = 0; i < 20; i++) {
    int next = epoll_create1(0);
    if ((r = add(cur, next)) != 0) break;
    cur = next;
  }
  printf("top-down chain: %d adds, then %d\n", i, r);

  /* A lattice, two epolls a level, each watching both of the next. */
  int a = epoll_create1(0), b = epoll_create1(0), levels = 0;
  for (; levels < 20; levels++) {
    int na = epoll_create1(0), nb = epoll_create1(0);
    if (add(a, na) || add(a, nb) || add(b, na) || add(b, nb)) break;
    a = na;
    b = nb;
  }
  printf("lattice: %d levels, then ELOOP\n", levels);

  int x = epoll_create1(0), y = epoll_create1(0);
  r = add(x, y);
  printf("x watches y: %d, ", r);
  printf("y watches x: %d\n", add(y, x));

  /* 5000 sockets, each in the previous one's queue. */
  int prev = -1, ok = 1;
  for (i = 0; i < 5000 && ok; i++) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)) return 1;
    if (prev >= 0) {
      ok = send_fd(sv[0], prev) == 0;
      close(prev);
    }
    close(sv[0]);
    prev = sv[1];
  }
  close(prev);
  printf("chain of %d sockets closed\n", i);

  /* In-flight fds of an unprivileged user: past RLIMIT_NOFILE, refused. */
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    struct rlimit rl = { 32, 32 };
    setrlimit(RLIMIT_NOFILE, &rl);
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(2);
    int sv[2], pfd[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) || pipe(pfd)) _exit(3);
    int sent = 0;
    for (; sent < 100; sent++)
      if ((r = send_fd(sv[0], pfd[0])) != 0) break;
    printf("unprivileged: %d fds in flight, then %d\n", sent, r);
    fflush(stdout);
    _exit(0);
  }
  waitpid(p, NULL, 0);
  return 0;
}
