/* timerfd (one-shot, periodic, absolute, nonblocking, epoll, gettime and
 * the old value) and signalfd (signals from raise, sigqueue with a value,
 * SIGCHLD, poll, a new mask). Compared with Linux (timings as relations). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void timers(void) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  struct itimerspec its = { { 0, 0 }, { 0, 50000000 } }, old;
  timerfd_settime(fd, 0, &its, NULL);
  struct itimerspec cur;
  timerfd_gettime(fd, &cur);
  printf("armed: remaining in (0, 50 ms]: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 50000000);
  double t0 = now_ms();
  uint64_t n = 0;
  ssize_t r = read(fd, &n, 8);
  printf("one-shot: read %zd, %llu expiration, after >= 45 ms %d\n", r, (unsigned long long)n, now_ms() - t0 >= 45);
  timerfd_gettime(fd, &cur);
  printf("disarmed after it: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

  struct itimerspec periodic = { { 0, 10000000 }, { 0, 10000000 } };
  timerfd_settime(fd, 0, &periodic, NULL);
  usleep(55000);
  r = read(fd, &n, 8);
  printf("periodic: read %zd, at least 3 expirations %d\n", r, n >= 3);
  struct itimerspec off = { { 0, 0 }, { 0, 0 } };
  timerfd_settime(fd, 0, &off, &old);
  printf("settime gave the old interval 10 ms: %d\n", old.it_interval.tv_nsec == 10000000);

  int nb = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
  errno = 0;
  r = read(nb, &n, 8);
  printf("nonblocking, unarmed: %zd errno %d\n", r, errno);
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  struct itimerspec past = { { 0, 0 }, { rt.tv_sec - 10, 0 } };
  timerfd_settime(nb, TFD_TIMER_ABSTIME, &past, NULL);
  r = read(nb, &n, 8);
  printf("absolute time in the past: read %zd, %llu\n", r, (unsigned long long)n);
  errno = 0;
  r = read(nb, &n, 4);
  printf("short read: %zd errno %d\n", r, errno);

  int ep = epoll_create1(0);
  struct epoll_event ev = { EPOLLIN, { .u64 = 9 } };
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  struct itimerspec soon = { { 0, 0 }, { 0, 20000000 } };
  timerfd_settime(fd, 0, &soon, NULL);
  int got = epoll_wait(ep, &ev, 1, 2000);
  printf("epoll: %d event, data %llu\n", got, (unsigned long long)ev.data.u64);
  errno = 0;
  int bad = timerfd_create(12345, 0);
  printf("bad clock: %d errno %d\n", bad, errno);
  errno = 0;
  bad = timerfd_settime(ep, 0, &soon, NULL);
  printf("settime on an epoll fd: %d errno %d\n", bad, errno);
  close(fd);
  close(nb);
  close(ep);
}

static void signals(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  sigset_t only_usr1;
  sigemptyset(&only_usr1);
  sigaddset(&only_usr1, SIGUSR1);
  int fd = signalfd(-1, &only_usr1, SFD_NONBLOCK | SFD_CLOEXEC);
  struct signalfd_siginfo si;
  errno = 0;
  ssize_t r = read(fd, &si, sizeof si);
  printf("nothing pending: %zd errno %d\n", r, errno);
  raise(SIGUSR1);
  struct pollfd pf = { fd, POLLIN, 0 };
  int ready = poll(&pf, 1, 0);
  printf("poll: %d revents %#x\n", ready, pf.revents);
  r = read(fd, &si, sizeof si);
  printf("raise: read %zd signo %u code %d pid is ours %d\n", r, si.ssi_signo, si.ssi_code, si.ssi_pid == (uint32_t)getpid());
  union sigval v = { .sival_int = 42 };
  sigqueue(getpid(), SIGUSR2, v);
  r = read(fd, &si, sizeof si);
  printf("SIGUSR2 outside the mask: %zd\n", r);
  sigaddset(&only_usr1, SIGUSR2);
  sigaddset(&only_usr1, SIGCHLD);
  printf("new mask: same fd %d\n", signalfd(fd, &only_usr1, 0) == fd);
  r = read(fd, &si, sizeof si);
  printf("sigqueue: read %zd signo %u code %d int %d\n", r, si.ssi_signo, si.ssi_code, si.ssi_int);
  pid_t child = fork();
  if (child == 0) _exit(7);
  waitpid(child, NULL, 0);
  r = read(fd, &si, sizeof si);
  printf("SIGCHLD: read %zd signo %u code %d status %d pid is the child %d\n", r, si.ssi_signo, si.ssi_code, si.ssi_status,
         si.ssi_pid == (uint32_t)child);
  errno = 0;
  r = read(fd, &si, 64);
  printf("short buffer: %zd errno %d\n", r, errno);
  close(fd);
}

int main(void) {
  timers();
  signals();
  return 0;
}
