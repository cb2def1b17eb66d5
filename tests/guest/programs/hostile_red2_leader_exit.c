/* HOSTILE (run only under umk): the main thread exits first (SYS_exit),
 * then a second thread exits, then a third uses its memory. umk reads and
 * writes guest memory through one live host thread (m_access_tid);
 * retire_thread() picked the first context in m_threads, which is the
 * main thread's (kept after it exited), so the access tid went back to the
 * dead leader: every later copy_in/copy_out failed (open/read/write gave
 * EFAULT, clear_child_tid was never written and pthread_join hung). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *first(void *arg) {
  (void)arg;
  sleep(1); /* exits after the leader */
  return NULL;
}

static void *second(void *arg) {
  (void)arg;
  sleep(2);
  char buf[64] = { 0 };
  int fd = open("/proc/self/comm", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
  char msg[128];
  int len = snprintf(msg, sizeof msg, "%s: open %d, read %zd, errno %d\n", n > 0 ? "PASS" : "FAIL", fd, n, errno);
  syscall(SYS_write, 1, msg, len);
  syscall(SYS_exit_group, n > 0 ? 0 : 1);
  return NULL;
}

int main(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, first, NULL);
  pthread_create(&b, NULL, second, NULL);
  syscall(SYS_exit, 0);
  return 1;
}
