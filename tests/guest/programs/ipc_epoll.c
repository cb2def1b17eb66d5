/* epoll: level- and edge-triggered, one-shot, nested, the error cases, an
 * item that goes with its file's last fd, EPOLLHUP, timeouts, EINTR even
 * with SA_RESTART; and eventfd (counter and semaphore modes). Compared
 * with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int ep;

static int wait_ms(int ms, struct epoll_event *ev, int max) {
  int n = epoll_wait(ep, ev, max, ms);
  return n < 0 ? -errno : n;
}

static int by_data(const void *x, const void *y) {
  const struct epoll_event *a = x, *b = y;
  return (a->data.u64 > b->data.u64) - (a->data.u64 < b->data.u64);
}

/* The events in data order (their order is the order they became ready). */
static void show(const char *what, int ms) {
  struct epoll_event ev[8];
  int n = wait_ms(ms, ev, 8);
  if (n > 1) qsort(ev, n, sizeof ev[0], by_data);
  printf("%s: %d", what, n);
  for (int i = 0; i < n; i++) printf(" [%#x %llu]", ev[i].events, (unsigned long long)ev[i].data.u64);
  printf("\n");
}

static int ctl(int op, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = { events, { .u64 = data } };
  return epoll_ctl(ep, op, fd, &ev) == 0 ? 0 : -errno;
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
  ep = epoll_create1(EPOLL_CLOEXEC);
  errno = 0;
  int bad = epoll_create(0);
  printf("cloexec %d, epoll_create(0) %d errno %d\n", (fcntl(ep, F_GETFD) & FD_CLOEXEC) != 0, bad, errno);
  int a[2], b[2], c[2];
  if (pipe(a) || pipe(b) || pipe(c)) return 1;

  printf("add level: %d\n", ctl(EPOLL_CTL_ADD, a[0], EPOLLIN, 1));
  show("empty", 0);
  (void)!write(a[1], "x", 1);
  show("level, once", 0);
  show("level, again", 0);
  char buf[64];
  (void)!read(a[0], buf, sizeof buf);
  show("level, drained", 0);

  printf("add edge: %d\n", ctl(EPOLL_CTL_ADD, b[0], EPOLLIN | EPOLLET, 2));
  (void)!write(b[1], "x", 1);
  show("edge, first", 0);
  show("edge, no new edge", 0);
  (void)!write(b[1], "y", 1);
  show("edge, more data", 0);
  (void)!read(b[0], buf, sizeof buf);
  show("edge, drained", 0);

  printf("add oneshot: %d\n", ctl(EPOLL_CTL_ADD, c[0], EPOLLIN | EPOLLONESHOT, 3));
  (void)!write(c[1], "x", 1);
  show("oneshot", 0);
  show("oneshot, disarmed", 0);
  printf("rearm: %d\n", ctl(EPOLL_CTL_MOD, c[0], EPOLLIN | EPOLLONESHOT, 33));
  show("oneshot, rearmed", 0);
  (void)!read(c[0], buf, sizeof buf);

  printf("add twice: %d, mod missing: %d, del missing: %d\n", ctl(EPOLL_CTL_ADD, a[0], EPOLLIN, 1),
         ctl(EPOLL_CTL_MOD, 999 > 0 ? a[1] : 0, EPOLLOUT, 0), ctl(EPOLL_CTL_DEL, a[1], 0, 0));
  int file = open("/etc/passwd", O_RDONLY);
  printf("regular file: %d, itself: %d\n", ctl(EPOLL_CTL_ADD, file, EPOLLIN, 0), ctl(EPOLL_CTL_ADD, ep, EPOLLIN, 0));
  struct epoll_event ev = { EPOLLIN, { 0 } };
  errno = 0;
  int r = epoll_ctl(a[0], EPOLL_CTL_ADD, a[1], &ev);
  printf("not an epoll fd: %d errno %d\n", r, errno);
  errno = 0;
  r = epoll_wait(ep, &ev, 0, 0);
  printf("maxevents 0: %d errno %d\n", r, errno);

  /* Nesting and loops. */
  int inner = epoll_create1(0);
  struct epoll_event iev = { EPOLLIN, { .u64 = 7 } };
  epoll_ctl(inner, EPOLL_CTL_ADD, a[0], &iev);
  printf("nest: %d\n", ctl(EPOLL_CTL_ADD, inner, EPOLLIN, 4));
  struct epoll_event lev = { EPOLLIN, { 0 } };
  errno = 0;
  r = epoll_ctl(inner, EPOLL_CTL_ADD, ep, &lev);
  printf("loop: %d errno %d\n", r, errno);
  (void)!write(a[1], "z", 1);
  show("nested ready", 0);
  (void)!read(a[0], buf, sizeof buf);
  printf("del nested: %d\n", ctl(EPOLL_CTL_DEL, inner, 0, 0));

  /* An item lives as long as its file, not its fd. */
  int d[2];
  if (pipe(d)) return 1;
  printf("add d: %d\n", ctl(EPOLL_CTL_ADD, d[0], EPOLLIN, 5));
  int dup_fd = dup(d[0]);
  close(d[0]);
  (void)!write(d[1], "q", 1);
  show("fd closed, file open", 0);
  close(dup_fd);
  show("file gone", 0);
  printf("re-add the number: %d\n", ctl(EPOLL_CTL_ADD, d[1], EPOLLOUT, 6));
  show("write end of a pipe without readers", 0);
  printf("del: %d\n", ctl(EPOLL_CTL_DEL, d[1], 0, 0));

  close(b[1]);
  show("hang-up (edge)", 0);

  /* Timeout and signals. */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int n = wait_ms(50, &ev, 1);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
  printf("timeout: %d after >= 45 ms: %d\n", n, ms >= 45);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = { { 0, 0 }, { 0, 20000 } };
  setitimer(ITIMER_REAL, &it, NULL);
  printf("interrupted: %d\n", wait_ms(-1, &ev, 1));

  /* eventfd */
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  uint64_t v = 3;
  printf("eventfd write %zd\n", write(efd, &v, 8));
  printf("eventfd epoll add: %d\n", ctl(EPOLL_CTL_ADD, efd, EPOLLIN | EPOLLOUT, 8));
  show("eventfd ready", 0);
  v = 0;
  ssize_t got = read(efd, &v, 8);
  printf("read %zd value %llu\n", got, (unsigned long long)v);
  errno = 0;
  got = read(efd, &v, 8);
  printf("read empty %zd errno %d\n", got, errno);
  errno = 0;
  got = read(efd, &v, 4);
  printf("short read %zd errno %d\n", got, errno);
  v = UINT64_MAX;
  errno = 0;
  got = write(efd, &v, 8);
  printf("write max %zd errno %d\n", got, errno);
  int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
  for (int i = 0; i < 3; i++) {
    errno = 0;
    got = read(sem, &v, 8);
    printf("semaphore read %zd value %llu errno %d\n", got, got == 8 ? (unsigned long long)v : 0ULL, errno);
  }
  return 0;
}
